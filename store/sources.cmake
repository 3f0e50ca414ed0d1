zh_module(store SOURCES
	store/event.c
	store/lock.c
	store/prune.c
	store/store.c
	store/task.c
	store/trigger.c
	store/vfs.c
	DEPS zh_util zh_dep_sqlite Threads::Threads
)
