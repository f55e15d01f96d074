/* SPDX-License-Identifier: MIT */
/*
 * Probe for libuv CVE-2024-24806 (uv__idna_toascii: no error for an empty
 * name, and a name that fills the 256-byte buffer is not terminated, so
 * uv_getaddrinfo may look up a name other than the one asked for).  Each
 * line "probe" asks uv_getaddrinfo, synchronously and for numeric hosts
 * only (no DNS), about the empty host name: the fixed library refuses it
 * with UV_EINVAL before any lookup; the vulnerable one passes it on and
 * getaddrinfo answers that it has no such host.
 */
#include <netdb.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

int main(void)
{
	char line[64];
	uv_loop_t *loop = uv_default_loop();

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		uv_getaddrinfo_t req;
		struct addrinfo hints;
		int rc;

		memset(&hints, 0, sizeof(hints));
		hints.ai_flags = AI_NUMERICHOST;
		hints.ai_family = AF_UNSPEC;
		rc = uv_getaddrinfo(loop, &req, NULL, "", NULL, &hints);
		if (rc == 0)
			uv_freeaddrinfo(req.addrinfo);
		if (rc == UV_EINVAL)
			printf("fixed: an empty host name is refused (%s)\n", uv_err_name(rc));
		else
			printf("vulnerable: an empty host name is passed to the resolver (%s)\n", rc ? uv_err_name(rc) : "0");
	}
	return 0;
}
