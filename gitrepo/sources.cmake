zh_module(gitrepo SOURCES
	gitrepo/gitrepo.c
	DEPS zh_util PkgConfig::LIBGIT2
)
