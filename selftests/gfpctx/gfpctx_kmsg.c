// SPDX-License-Identifier: GPL-2.0
/*
 * gfpctx_kmsg - follow the kernel log from now on into a file, so that a
 * script's checks of the log never depend on the ring buffer still
 * holding old lines (Documentation/ABI/testing/dev-kmsg).
 *
 * Usage: gfpctx_kmsg FILE
 *
 * Seeks /dev/kmsg to its end, creates FILE, then appends the message of
 * every new record to FILE as one line (a continuation line of a record,
 * its dictionary, is left out). A gap, records overwritten before they
 * could be read (read(2) says EPIPE), is written as the line
 * "# gfpctx_kmsg: records lost", so a reader can tell it cannot judge
 * (no kernel message starts with "# "; many start with a task's name,
 * "gfpctx_kmsg: page allocation failure" for one).
 * FILE is created only once the end of the log is found: a script waits
 * for it before it logs what it wants to see. It runs until killed, or
 * until its parent exits; it exits KSFT_FAIL when /dev/kmsg or FILE
 * cannot be opened or read.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "../kselftest.h"

/* A record is at most this long (kernel/printk/printk.c: CONSOLE_EXT_LOG_MAX). */
#define RECORD_MAX	8192

static const char lost[] = "# gfpctx_kmsg: records lost\n";

int main(int argc, char **argv)
{
	char rec[RECORD_MAX + 1];
	int in, out;
	ssize_t n;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return KSFT_FAIL;
	}
	/* Do not outlive the script that started it. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	in = open("/dev/kmsg", O_RDONLY);
	if (in < 0) {
		perror("gfpctx_kmsg: /dev/kmsg");
		return KSFT_FAIL;
	}
	lseek(in, 0, SEEK_END);
	out = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (out < 0) {
		perror("gfpctx_kmsg: FILE");
		return KSFT_FAIL;
	}
	for (;;) {
		char *text, *end;

		n = read(in, rec, RECORD_MAX);
		if (n < 0) {
			if (errno == EPIPE && write(out, lost, sizeof(lost) - 1) < 0)
				return KSFT_FAIL;
			if (errno == EPIPE || errno == EINTR)
				continue;
			perror("gfpctx_kmsg: read");
			return KSFT_FAIL;
		}
		rec[n] = '\0';
		/* "prefix,seq,usec,flags;message\n[ dictionary\n]" */
		text = strchr(rec, ';');
		if (!text)
			continue;
		text++;
		end = strchr(text, '\n');
		if (end)
			end[1] = '\0';
		if (write(out, text, strlen(text)) < 0)
			return KSFT_FAIL;
	}
}
