zh_module(gitrepo SOURCES
	gitrepo/gitrepo.c
	gitrepo/notes.c
	gitrepo/mirror.c
	DEPS zh_util PkgConfig::LIBGIT2
)
