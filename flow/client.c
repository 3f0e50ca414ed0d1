#include "flow/flow.h"

#include <string.h>

#include "util/banned.h"

int zh_flow_zadig_new(struct zh_zadig **out, const struct zh_config *cfg,
		      struct zh_error *err)
{
	struct zh_zadig_opts opts;

	memset(&opts, 0, sizeof(opts));
	opts.url = cfg->zadig.url;
	opts.token = cfg->zadig.token;
	opts.timeout_ms = (long)cfg->zadig.timeout_ms;
	opts.ca_file = cfg->zadig.ca_file;
	opts.insecure = cfg->zadig.insecure_skip_tls_verify;
	opts.get_retries = -1;
	return zh_zadig_new(out, &opts, err);
}
