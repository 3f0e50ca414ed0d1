# libcurl is not linked: zadig/curl.c loads it (dlopen) when a program
# first talks to Zadig, so that the ones that do not (a hook run that
# fires nothing or only records) skip loading its ~30 libraries at start.
find_library(ZH_CURL_LIBRARY NAMES curl HINTS ${CURL_LIBRARY_DIRS})
set(zh_curl_soname "libcurl.so.4")
if(ZH_CURL_LIBRARY)
	get_filename_component(zh_curl_real ${ZH_CURL_LIBRARY} REALPATH)
	get_filename_component(zh_curl_real ${zh_curl_real} NAME)
	string(REGEX MATCH "^libcurl[^.]*\\.so\\.[0-9]+" zh_curl_match
		${zh_curl_real})
	if(zh_curl_match)
		set(zh_curl_soname ${zh_curl_match})
	endif()
endif()
set(ZH_LIBCURL_SONAME ${zh_curl_soname} CACHE STRING
	"libcurl's soname, loaded when a program first talks to Zadig")

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
