/* SPDX-License-Identifier: MIT */
/*
 * Probe for libcue CVE-2023-43641 (track_set_index accepts a negative index
 * and writes before the track's index array).  Each line "probe" parses a
 * cue sheet whose "INDEX 4294967295" reads as index -1 (atoi): the vulnerable
 * library writes the index time, 0, over the field before the array -- the
 * track's REM pointer -- the fixed one refuses the index and leaves it.
 * The damaged track is never freed, so the probe itself never crashes.
 */
#include <libcue.h>
#include <stdio.h>

static const char sheet[] = "FILE \"a.bin\" BINARY\n"
			    "  TRACK 01 AUDIO\n"
			    "    INDEX 4294967295 00:00:00\n"
			    "    INDEX 01 00:00:00\n";

int main(void)
{
	char line[64];

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* the fixed parser says "too many indexes" on stderr: keep it out of the answers */
	if (!freopen("/dev/null", "w", stderr))
		return 1;
	printf("ready\n");
	while (fgets(line, sizeof(line), stdin)) {
		Cd *cd = cue_parse_string(sheet);
		Track *t = cd ? cd_get_track(cd, 1) : NULL;

		if (!t)
			printf("error: the cue sheet did not parse\n");
		else if (!track_get_rem(t))
			printf("vulnerable: INDEX -1 overwrote the track's REM pointer\n");
		else {
			printf("fixed: INDEX -1 refused, the track is intact\n");
			cd_delete(cd);
		}
	}
	return 0;
}
