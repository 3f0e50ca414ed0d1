# libcurl is not linked: zadig/curl.c loads it (dlopen) when a program
# first talks to Zadig, so that the ones that do not (a hook run that
# fires nothing or only records) skip loading its ~30 libraries at start.
zh_soname(ZH_LIBCURL_SONAME curl libcurl.so.4 ${CURL_LIBRARY_DIRS})

zh_module(zadig SOURCES
	zadig/client.c
	zadig/curl.c
	zadig/parse.c
	zadig/render.c
	zadig/types.c
	DEPS zh_util zh_dep_jsonc ${CMAKE_DL_LIBS}
)
target_include_directories(zh_zadig PRIVATE ${CURL_INCLUDE_DIRS})
target_compile_options(zh_zadig PRIVATE ${CURL_CFLAGS_OTHER})
set_property(SOURCE zadig/curl.c APPEND PROPERTY COMPILE_DEFINITIONS
	ZH_LIBCURL_SONAME="${ZH_LIBCURL_SONAME}")
