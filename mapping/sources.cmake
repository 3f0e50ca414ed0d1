# OpenSSL's libcrypto is not linked: mapping/expand.c loads it (dlopen)
# the first time it signs a callback URL; most hook runs sign nothing.
find_library(ZH_CRYPTO_LIBRARY NAMES crypto HINTS ${CRYPTO_LIBRARY_DIRS})
set(zh_crypto_soname "libcrypto.so.3")
if(ZH_CRYPTO_LIBRARY)
	get_filename_component(zh_crypto_real ${ZH_CRYPTO_LIBRARY} REALPATH)
	get_filename_component(zh_crypto_real ${zh_crypto_real} NAME)
	string(REGEX MATCH "^libcrypto[^.]*\\.so\\.[0-9]+" zh_crypto_match
		${zh_crypto_real})
	if(zh_crypto_match)
		set(zh_crypto_soname ${zh_crypto_match})
	endif()
endif()
set(ZH_LIBCRYPTO_SONAME ${zh_crypto_soname} CACHE STRING
	"libcrypto's soname, loaded when a callback URL is first signed")

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
