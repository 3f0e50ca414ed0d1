zh_module(util SOURCES
	util/buf.c
	util/error.c
	util/perm.c
	util/value.c
)
