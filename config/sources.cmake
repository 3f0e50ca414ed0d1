zh_module(config SOURCES
	config/config.c
	config/glob.c
	config/keys.c
	config/locate.c
	config/reference.c
	config/units.c
	DEPS zh_util zh_dep_yaml
)
