zh_module(gitrepo SOURCES
	gitrepo/gitrepo.c
	gitrepo/notes.c
	gitrepo/mirror.c
	gitrepo/notes_push.c
	gitrepo/remote.c
	DEPS zh_util zh_dep_libgit2
)
