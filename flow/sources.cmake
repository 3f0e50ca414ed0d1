zh_module(flow SOURCES
	flow/client.c
	flow/deliver.c
	flow/event.c
	flow/report.c
	flow/update.c
	DEPS zh_mapping zh_zadig zh_gitrepo zh_store zh_config zh_util
)
