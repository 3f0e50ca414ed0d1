#include "flow/flow.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/banned.h"

int zh_flow_zadig_new(struct zh_zadig **out, const struct zh_config *cfg,
		      struct zh_error *err)
{
	struct zh_zadig_opts opts;
	struct zh_error e = {0};
	char *token = NULL, name[1100];
	int rc;

	*out = NULL;
	/* a token file that could not be read is read again: it may have
	 * been fixed since the configuration was loaded */
	if ((rc = zh_config_token(&token, cfg, &e)) < 0)
		return zh_error_set(err, rc == ZH_ENOMEM ? rc : ZH_EAUTH, "%s",
				    e.msg);
	memset(&opts, 0, sizeof(opts));
	opts.url = cfg->zadig.url;
	opts.token = token;
	/* as written: "${X}" expanded may be anything, a secret too */
	if (cfg->zadig.token_file) {
		snprintf(name, sizeof(name), "zadig.token_file '%.1024s'",
			 cfg->token_src.raw ? cfg->token_src.raw
					    : cfg->zadig.token_file);
		opts.token_name = name;
	}
	opts.timeout_ms = (long)cfg->zadig.timeout_ms;
	opts.ca_file = cfg->zadig.ca_file;
	opts.insecure = cfg->zadig.insecure_skip_tls_verify;
	opts.get_retries = -1;
	rc = zh_zadig_new(out, &opts, err);
	explicit_bzero(token, strlen(token));
	free(token);
	return rc;
}

char *zh_flow_state_dir(const struct zh_config *cfg, struct zh_repo *r)
{
	/* one store for all work trees of a repository */
	const char *gd = zh_repo_common_dir(r);
	size_t n;
	char *s;

	if (cfg->state_dir)
		return strdup(cfg->state_dir);
	n = strlen(gd) + sizeof("/zadig-hook");
	if ((s = malloc(n)))
		snprintf(s, n, "%s%szadig-hook", gd,
			 gd[0] && gd[strlen(gd) - 1] == '/' ? "" : "/");
	return s;
}

int zh_flow_state_shared(const struct zh_config *cfg, struct zh_repo *r)
{
	return cfg->state_dir ? 0 : zh_repo_shared(r);
}
