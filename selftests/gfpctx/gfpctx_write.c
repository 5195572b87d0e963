// SPDX-License-Identifier: GPL-2.0
/*
 * gfpctx_write - write exact bytes to a file and print how each write(2)
 * ended: "OK", or the errno name (EINVAL, EPERM, EOPNOTSUPP, ...), so that
 * the gfpctx scripts can assert an error exactly.
 *
 * Usage: gfpctx_write [-n LEN] [-o OFFSET] [-s SPLIT] [-w WATCHED]...
 *                     FILE DATA [DATA...]
 *
 *   DATA       the bytes; escapes: \\ \n \t \xHH (so \x00 is a NUL byte);
 *              each DATA is written on an open of its own, in turn (one
 *              process for many jobs)
 *   -n LEN     repeat DATA ('a' when DATA is empty) to exactly LEN bytes
 *   -o OFFSET  write with pwrite(2) at OFFSET
 *   -s SPLIT   two writes on the same open file: the first SPLIT bytes,
 *              then the rest; one result word per write
 *   -w WATCHED a file read before and after each DATA (up to 4 of them):
 *              when it reads otherwise after, "+changed" is added to
 *              that DATA's result word (a refused write changes nothing)
 *
 * Output: one word per write ("OK", "SHORT:<n>" or an errno name),
 * separated by spaces.
 * Exit: 0 when every write took all its bytes, 1 otherwise, 2 on a usage
 * or open error (printed as "open:<errno name>").
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../kselftest.h"

#define MAX_DATA (1024 * 1024)
#define MAX_WATCHED 4
#define MAX_WATCHED_LEN (256 * 1024)

static const struct {
	int err;
	const char *name;
} errnames[] = {
	{ EPERM, "EPERM" },
	{ ENOENT, "ENOENT" },
	{ EINTR, "EINTR" },
	{ EIO, "EIO" },
	{ E2BIG, "E2BIG" },
	{ EAGAIN, "EAGAIN" },
	{ ENOMEM, "ENOMEM" },
	{ EACCES, "EACCES" },
	{ EFAULT, "EFAULT" },
	{ EBUSY, "EBUSY" },
	{ EEXIST, "EEXIST" },
	{ ENODEV, "ENODEV" },
	{ ENXIO, "ENXIO" },
	{ EINVAL, "EINVAL" },
	{ ENOSPC, "ENOSPC" },
	{ ESPIPE, "ESPIPE" },
	{ ERANGE, "ERANGE" },
	{ EOPNOTSUPP, "EOPNOTSUPP" },
	{ ETIMEDOUT, "ETIMEDOUT" },
	{ ECANCELED, "ECANCELED" },
};

static void print_errno(const char *prefix, int err)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(errnames); i++) {
		if (errnames[i].err == err) {
			printf("%s%s", prefix, errnames[i].name);
			return;
		}
	}
	printf("%sE%d", prefix, err);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode the escapes of @s into @out; returns the length or -1. */
static long unescape(const char *s, char *out, size_t max)
{
	size_t n = 0;

	while (*s) {
		char c = *s++;

		if (c == '\\') {
			c = *s++;
			switch (c) {
			case '\\':
				break;
			case 'n':
				c = '\n';
				break;
			case 't':
				c = '\t';
				break;
			case 'x':
				if (hexval(s[0]) < 0 || hexval(s[1]) < 0)
					return -1;
				c = (char)(hexval(s[0]) << 4 | hexval(s[1]));
				s += 2;
				break;
			default:
				return -1;
			}
		}
		if (n >= max)
			return -1;
		out[n++] = c;
	}
	return (long)n;
}

/* One write(2) (or pwrite(2)); prints its result, returns 0 if complete. */
static int write_once(int fd, const char *buf, size_t len, long long off)
{
	ssize_t ret;

	if (off >= 0)
		ret = pwrite(fd, buf, len, (off_t)off);
	else
		ret = write(fd, buf, len);
	if (ret < 0) {
		print_errno("", errno);
		return 1;
	}
	if ((size_t)ret != len) {
		printf("SHORT:%zd", ret);
		return 1;
	}
	printf("OK");
	return 0;
}

/* The first MAX_WATCHED_LEN bytes of a file, NUL terminated, into buf. */
static void read_watched(const char *path, char *buf)
{
	ssize_t n, len = 0;
	int fd = open(path, O_RDONLY);

	buf[0] = '\0';
	if (fd < 0)
		return;
	while (len < MAX_WATCHED_LEN &&
	       (n = read(fd, buf + len, MAX_WATCHED_LEN - len)) > 0)
		len += n;
	buf[len] = '\0';
	close(fd);
}

static void bad_usage(const char *prog)
{
	fprintf(stderr,
		"usage: %s [-n LEN] [-o OFFSET] [-s SPLIT] [-w WATCHED]... FILE DATA [DATA...]\n",
		prog);
	exit(2);
}

/* Write one DATA argument to path as the options ask; 0 if complete,
 * 1 if not, 2 on an open or escape error (printed).
 */
static int write_data(const char *path, const char *arg, long long len,
		      long long off, long long split, char *data, char *buf)
{
	long dlen = unescape(arg, data, MAX_DATA);
	int fd, ret;

	if (dlen < 0) {
		fprintf(stderr, "gfpctx_write: bad escape in DATA\n");
		return 2;
	}
	if (len >= 0) {
		long long i;

		if (dlen == 0) {
			data[0] = 'a';
			dlen = 1;
		}
		for (i = 0; i < len; i++)
			buf[i] = data[i % dlen];
	} else {
		memcpy(buf, data, dlen);
		len = dlen;
	}
	if (split > len) {
		fprintf(stderr, "gfpctx_write: SPLIT beyond the data\n");
		return 2;
	}

	fd = open(path, O_WRONLY);
	if (fd < 0) {
		print_errno("open:", errno);
		return 2;
	}
	if (split >= 0) {
		ret = write_once(fd, buf, split, off);
		printf(" ");
		ret |= write_once(fd, buf + split, len - split,
				  off >= 0 ? off + split : -1);
	} else {
		ret = write_once(fd, buf, len, off);
	}
	close(fd);
	return ret;
}

int main(int argc, char **argv)
{
	long long off = -1, split = -1, len = -1;
	const char *watched[MAX_WATCHED];
	char *data, *buf, *was = NULL, *now = NULL;
	int opt, i, w, nwatched = 0, ret = 0, rc;

	while ((opt = getopt(argc, argv, "n:o:s:w:")) != -1) {
		switch (opt) {
		case 'n':
			len = atoll(optarg);
			break;
		case 'o':
			off = atoll(optarg);
			break;
		case 's':
			split = atoll(optarg);
			break;
		case 'w':
			if (nwatched == MAX_WATCHED)
				bad_usage(argv[0]);
			watched[nwatched++] = optarg;
			break;
		default:
			bad_usage(argv[0]);
		}
	}
	if (argc - optind < 2 || len > MAX_DATA || off < -1 || split < -1)
		bad_usage(argv[0]);

	data = malloc(MAX_DATA);
	buf = malloc(MAX_DATA);
	if (nwatched) {
		was = malloc(MAX_WATCHED * (MAX_WATCHED_LEN + 1));
		now = malloc(MAX_WATCHED_LEN + 1);
	}
	if (!data || !buf || (nwatched && (!was || !now)))
		return KSFT_FAIL;
	for (i = optind + 1; i < argc; i++) {
		bool changed = false;

		if (i > optind + 1)
			printf(" ");
		for (w = 0; w < nwatched; w++)
			read_watched(watched[w], was + w * (MAX_WATCHED_LEN + 1));
		rc = write_data(argv[optind], argv[i], len, off, split, data,
				buf);
		for (w = 0; w < nwatched; w++) {
			read_watched(watched[w], now);
			if (strcmp(now, was + w * (MAX_WATCHED_LEN + 1)))
				changed = true;
		}
		if (changed)
			printf("+changed");
		if (rc > ret)
			ret = rc;
		if (rc == 2)
			break;
	}
	printf("\n");
	free(data);
	free(buf);
	free(was);
	free(now);
	return ret == 2 ? 2 : ret ? KSFT_FAIL : KSFT_PASS;
}
