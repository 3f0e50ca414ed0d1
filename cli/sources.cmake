add_executable(git-zadig cli/git-zadig.c cli/show.c cli/status.c)
target_link_libraries(git-zadig PRIVATE zh)
install(TARGETS git-zadig DESTINATION ${CMAKE_INSTALL_BINDIR})
install(FILES docs/git-zadig.1 DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
