# zadig-hook: the hook (post-receive, on PATH and in hooks/post-receive),
# install and the detached poller, in one program. The async enqueue
# (hook/enqueue.c) needs none of libgit2, SQLite or libcurl; linked from
# the archives (zh_link_static), the program starts about as fast as one
# that links only libc, so one program costs the async hook ~0.3 ms and
# saves every other run the start of a second one (docs/BENCHMARKS.md).
add_executable(zadig-hook hook/zadig-hook.c hook/enqueue.c hook/install.c
	hook/poll.c hook/spool.c hook/spawn.c hook/denied.c ${ZH_LOCAL_ONLY})
target_link_libraries(zadig-hook PRIVATE zh)
zh_link_static(zadig-hook)
install(TARGETS zadig-hook DESTINATION ${CMAKE_INSTALL_BINDIR})
# what an earlier version installed beside git-zadig-full
install(CODE "file(REMOVE \"\$ENV{DESTDIR}${CMAKE_INSTALL_FULL_LIBEXECDIR}/zadig-hook/zadig-hook-full\")")
