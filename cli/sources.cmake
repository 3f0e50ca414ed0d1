# git-zadig is two programs (cli/cli.h, issue 6), laid out like zadig-hook:
# - git-zadig (cli/front.c), on PATH: status and config check, linking
#   libgit2 and libyaml only, so that `git zadig status` starts about as
#   fast as git; every other verb (and status --live) it hands to
# - git-zadig-full: all verbs, with libcurl and SQLite; installed in
#   libexec/zadig-hook, found at ZH_CLI_FULL_REL from the front, or beside
#   it (the build tree).
file(RELATIVE_PATH zh_cli_full_rel ${CMAKE_INSTALL_FULL_BINDIR}
	${CMAKE_INSTALL_FULL_LIBEXECDIR}/zadig-hook)
file(RELATIVE_PATH zh_cli_bin_rel ${CMAKE_INSTALL_FULL_LIBEXECDIR}/zadig-hook
	${CMAKE_INSTALL_FULL_BINDIR})

add_executable(git-zadig cli/git-zadig.c cli/front.c cli/status.c
	gitrepo/local_only.c)
target_compile_definitions(git-zadig PRIVATE
	ZH_CLI_FULL_REL="${zh_cli_full_rel}"
	ZH_CLI_FULL_DIR="${CMAKE_INSTALL_FULL_LIBEXECDIR}/zadig-hook")
target_link_libraries(git-zadig PRIVATE zh_gitrepo zh_config zh_util)
target_link_options(git-zadig PRIVATE -Wl,--as-needed)
zh_link_static(git-zadig)
# the front is of no use without the full program
add_dependencies(git-zadig git-zadig-full)
install(TARGETS git-zadig DESTINATION ${CMAKE_INSTALL_BINDIR})

add_executable(git-zadig-full cli/git-zadig.c cli/net.c cli/status.c
	cli/show.c hook/spool.c hook/spawn.c ${ZH_LOCAL_ONLY})
# `git zadig sync` runs `zadig-hook poll --spool`: beside it (the build
# tree), else at ZH_CLI_BIN_REL from it
target_compile_definitions(git-zadig-full PRIVATE
	ZH_CLI_BIN_REL="${zh_cli_bin_rel}")
target_link_libraries(git-zadig-full PRIVATE zh)
zh_link_static(git-zadig-full)
install(TARGETS git-zadig-full
	DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/zadig-hook)

install(FILES docs/git-zadig.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
