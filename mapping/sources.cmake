# OpenSSL's libcrypto is not linked: mapping/expand.c loads it (dlopen)
# the first time it signs a callback URL; most hook runs sign nothing.
zh_soname(ZH_LIBCRYPTO_SONAME crypto libcrypto.so.3 ${CRYPTO_LIBRARY_DIRS})

zh_module(mapping SOURCES
	mapping/decide.c
	mapping/expand.c
	mapping/glob.c
	mapping/mapping.c
	DEPS zh_config zh_zadig zh_util ${CMAKE_DL_LIBS} Threads::Threads
)
target_include_directories(zh_mapping PRIVATE ${CRYPTO_INCLUDE_DIRS})
set_property(SOURCE mapping/expand.c APPEND PROPERTY COMPILE_DEFINITIONS
	ZH_LIBCRYPTO_SONAME="${ZH_LIBCRYPTO_SONAME}")
