/* SPDX-License-Identifier: MIT */
/*
 * advert.c - the ref advertisement libgit2 reads for a fetch, cut down to
 * the refs git asked for.
 *
 * libgit2 matches every advertised ref against every refspec it is given,
 * and resolves each refspec that is not a pattern against every advertised
 * ref: a clone that asked for 22,000 refs by name spent 6.5 s there before
 * its first request, a time that grows with the square of the count.  Shown
 * only the refs git asked for, libgit2 needs one pattern refspec to select
 * them all.
 */
#include "config.h"

#include <string.h>

#include "helper.h"

/* A ref line: "<40 hex> <name>", then the capabilities after a NUL. */
static int
ref_line(const char *p, size_t len)
{
	return len > OID_HEX_LEN + 1 && p[OID_HEX_LEN] == ' ' &&
	    oid_hex_ok(p, OID_HEX_LEN);
}

int
advert_cut(struct buf *out, const char *body, size_t len,
    const struct name_index *wanted, size_t *kept)
{
	const char *payload, *name, *nul, *caps = NULL;
	size_t off = 0, plen, nlen, clen = 0, refs = 0;
	struct buf line;
	enum pkt_type type;
	ssize_t n;
	int r = 0, flushes = 0, first = 1;

	*kept = 0;
	buf_init(&line, PKT_MAX);
	/* as push_adv_parse reads it: to the flush after the refs */
	while (r == 0 && flushes < 2) {
		n = pkt_parse(body + off, len - off, &type, &payload, &plen);
		if (n <= 0 || (type != PKT_DATA && type != PKT_FLUSH)) {
			r = err_set(BBS_E_PROTOCOL, "malformed ref "
			    "advertisement");
			break;
		}
		off += (size_t)n;
		if (type == PKT_FLUSH) {
			flushes++;
			r = pkt_flush(out);
			continue;
		}
		if (first) {
			first = 0;
			if (!(plen >= 10 && memcmp(payload, "# service=", 10) == 0))
				flushes++;	/* no preamble: one flush */
		}
		if (!ref_line(payload, plen)) {
			r = pkt_add(out, payload, plen);	/* as it was */
			continue;
		}
		name = payload + OID_HEX_LEN + 1;
		nlen = plen - OID_HEX_LEN - 1;
		if ((nul = memchr(name, '\0', nlen)) != NULL) {
			if (refs > 0) {
				/* only the first ref's, as git sends them */
				r = err_set(BBS_E_PROTOCOL, "capabilities "
				    "after the first ref");
				break;
			}
			caps = nul + 1;
			clen = (size_t)(payload + plen - caps);
			if (clen > 0 && caps[clen - 1] == '\n')
				clen--;
			nlen = (size_t)(nul - name);
		} else if (nlen > 0 && name[nlen - 1] == '\n')
			nlen--;
		refs++;
		if (!name_index_find(wanted, name, nlen, NULL))
			continue;	/* peeled entries ("^{}") too */
		buf_reset(&line);
		buf_add(&line, payload, OID_HEX_LEN + 1);
		buf_add(&line, name, nlen);
		if (*kept == 0 && caps != NULL) {
			buf_add(&line, "", 1);
			buf_add(&line, caps, clen);
		}
		if ((r = buf_add(&line, "\n", 1)) == 0)
			r = pkt_add(out, line.ptr, line.len);
		(*kept)++;
	}
	buf_release(&line);
	return r;
}
