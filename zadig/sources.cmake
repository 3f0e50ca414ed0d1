zh_module(zadig SOURCES
	zadig/client.c
	zadig/parse.c
	zadig/render.c
	zadig/types.c
	DEPS zh_util PkgConfig::CURL PkgConfig::JSONC
)
