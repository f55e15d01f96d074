/* SPDX-License-Identifier: MIT */
/*
 * hp-test-tool: exposes engine internals to the shell tests.
 *   funcbytes PID PATH SYMBOL   hex bytes of SYMBOL as mapped in PID (PATH: the module's file)
 *   filebytes PATH SYMBOL       hex bytes of SYMBOL in the file
 *   funcaddr PID PATH SYMBOL    runtime address of SYMBOL in PID
 *   poke PID ADDR HEX           write bytes into PID's memory (to simulate another tool's change)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/core/elf.h"
#include "lib/process/ptrace.h"
#include "lib/process/resolve.h"

static const struct hp_sym *find_func(struct hp_elf *e, const char *name)
{
	struct hp_sym *s;
	size_t n = hp_elf_find_syms(e, name, &s), i;

	for (i = 0; i < n; i++)
		if (s[i].shndx != SHN_UNDEF && s[i].size)
			return &s[i];
	return NULL;
}

static void hex(const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		printf("%02x", b[i]);
	printf("\n");
}

static int in_process(struct hp_ctx *ctx, pid_t pid, const char *path, const char *name, bool bytes)
{
	struct hp_process proc;
	struct stat st;
	const struct hp_sym *s;
	struct hp_loaded *l = NULL;
	uint8_t *buf;
	size_t i;

	if (stat(path, &st) < 0 || hp_process_open(ctx, pid, &proc) < 0) {
		fprintf(stderr, "hp-test-tool: %s\n", hp_ctx_errmsg(ctx));
		return 1;
	}
	for (i = 0; i < proc.nmods; i++)
		if (proc.mods[i].inode == st.st_ino)
			l = &proc.loaded[i];
	if (!l || hp_loaded_open(ctx, &proc, l) < 0 || hp_elf_load_symbols(ctx, l->elf, NULL) < 0 ||
	    !(s = find_func(l->elf, name))) {
		fprintf(stderr, "hp-test-tool: %s not found in pid %d\n", name, pid);
		hp_process_close(&proc);
		return 1;
	}
	if (!bytes) {
		printf("0x%llx\n", (unsigned long long)(l->bias + s->value));
		hp_process_close(&proc);
		return 0;
	}
	buf = malloc(s->size);
	if (!buf || hp_mem_read(proc.memfd, l->bias + s->value, buf, s->size) < 0) {
		fprintf(stderr, "hp-test-tool: cannot read memory\n");
		hp_process_close(&proc);
		return 1;
	}
	hex(buf, s->size);
	free(buf);
	hp_process_close(&proc);
	return 0;
}

int main(int argc, char **argv)
{
	struct hp_ctx *ctx;
	pid_t pid;

	hp_ctx_new(&ctx);
	if (argc == 5 && (!strcmp(argv[1], "funcbytes") || !strcmp(argv[1], "funcaddr"))) {
		if (hp_parse_pid(argv[2], &pid) < 0)
			return 2;
		return in_process(ctx, pid, argv[3], argv[4], !strcmp(argv[1], "funcbytes"));
	}
	if (argc == 5 && !strcmp(argv[1], "poke")) {
		uint8_t bytes[64];
		int n, fd;

		if (hp_parse_pid(argv[2], &pid) < 0 || (n = hp_unhex(argv[4], bytes, sizeof(bytes))) <= 0)
			return 2;
		fd = hp_mem_open(ctx, pid);
		if (fd < 0 || hp_mem_write(fd, strtoull(argv[3], NULL, 0), bytes, (size_t)n) < 0) {
			fprintf(stderr, "hp-test-tool: cannot write: %s\n", hp_ctx_errmsg(ctx));
			return 1;
		}
		close(fd);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "filebytes")) {
		struct hp_elf *e;
		const struct hp_sym *s;
		uint8_t *buf;

		if (hp_elf_open(ctx, argv[2], &e) < 0 || hp_elf_load_symbols(ctx, e, NULL) < 0 ||
		    !(s = find_func(e, argv[3])))
			return 1;
		buf = malloc(s->size);
		if (!buf || hp_elf_read_vaddr(e, s->value, buf, s->size) < 0)
			return 1;
		hex(buf, s->size);
		free(buf);
		hp_elf_close(e);
		return 0;
	}
	fprintf(stderr, "usage: hp-test-tool funcbytes|funcaddr PID PATH SYMBOL | filebytes PATH SYMBOL | poke PID ADDR HEX\n");
	return 2;
}
