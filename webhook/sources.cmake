# zadig-webhook, the GitLab webhook receiver (design.md §6).

# The pure parts (payloads, signatures, counters, the parses kept, the
# queue of Zadig's hints, the limit on log lines), also linked by the unit
# tests in tests/unit/webhook.
add_library(zh_webhook_parse STATIC
	webhook/gitlab.c
	webhook/auth.c
	webhook/metrics.c
	webhook/parsed.c
	webhook/hints.c
	webhook/loglimit.c
)
target_link_libraries(zh_webhook_parse PUBLIC zh_flags zh_util
	PkgConfig::YAJL PkgConfig::CRYPTO Threads::Threads)

add_executable(zadig-webhook
	webhook/main.c
	webhook/server.c
	webhook/work.c
)
target_link_libraries(zadig-webhook PRIVATE zh_webhook_parse zh
	PkgConfig::MHD PkgConfig::CRYPTO Threads::Threads)

install(TARGETS zadig-webhook DESTINATION ${CMAKE_INSTALL_BINDIR})
