# zadig-hook is two programs (bench/hook_push.sh, issue 6):
# - zadig-hook (hook/front.c), on PATH and in hooks/post-receive: the lean
#   async enqueue (config, glob matcher, util only); everything else it
#   hands to
# - zadig-hook-full: install, poll, sync post-receive, --help, errors;
#   installed in libexec, found beside the front (build tree) or at
#   ZH_FULL_REL from it.
file(RELATIVE_PATH zh_full_rel ${CMAKE_INSTALL_FULL_BINDIR}
	${CMAKE_INSTALL_FULL_LIBEXECDIR}/zadig-hook)
file(RELATIVE_PATH zh_front_rel ${CMAKE_INSTALL_FULL_LIBEXECDIR}/zadig-hook
	${CMAKE_INSTALL_FULL_BINDIR})

add_executable(zadig-hook hook/front.c hook/spool.c hook/spawn.c)
target_compile_definitions(zadig-hook PRIVATE ZH_FULL_REL="${zh_full_rel}")
# Only the objects front.c uses come out of these archives (config,
# flow/update.c, mapping/glob.c); --as-needed drops the shared libraries
# the archives would bring along but nothing calls.
target_link_libraries(zadig-hook PRIVATE zh_config zh_mapping zh_flow zh_util)
target_link_options(zadig-hook PRIVATE -Wl,--as-needed)
zh_link_static(zadig-hook)
install(TARGETS zadig-hook DESTINATION ${CMAKE_INSTALL_BINDIR})

add_executable(zadig-hook-full hook/zadig-hook.c hook/install.c hook/poll.c
	hook/spool.c hook/spawn.c ${ZH_LOCAL_ONLY})
target_compile_definitions(zadig-hook-full PRIVATE
	ZH_FRONT_REL="${zh_front_rel}")
target_link_libraries(zadig-hook-full PRIVATE zh)
zh_link_static(zadig-hook-full)
install(TARGETS zadig-hook-full
	DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/zadig-hook)
