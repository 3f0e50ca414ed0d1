zh_module(gitrepo SOURCES
	gitrepo/gitrepo.c
	gitrepo/notes.c
	gitrepo/mirror.c
	gitrepo/notes_push.c
	gitrepo/pack_config.c
	gitrepo/remote.c
	gitrepo/safe_directory.c
	gitrepo/stale_lock.c
	DEPS zh_util zh_dep_libgit2
)
