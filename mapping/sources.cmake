zh_module(mapping SOURCES
	mapping/decide.c
	mapping/expand.c
	mapping/glob.c
	mapping/mapping.c
	DEPS zh_config zh_zadig zh_util zh_dep_crypto
)
