add_executable(zadig-hook hook/zadig-hook.c hook/install.c hook/poll.c)
target_link_libraries(zadig-hook PRIVATE zh)
install(TARGETS zadig-hook DESTINATION ${CMAKE_INSTALL_BINDIR})
