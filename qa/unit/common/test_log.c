/*
 * Unit tests of common/log: level names, the level filter, appending to and
 * reopening a file, and whole lines when several threads log at once.
 *
 * The log is the process's one piece of global state, so every test opens it
 * on its own file in a temporary directory and closes it again; the lines'
 * prefix (time, program, level) is not the tests' business, only that each
 * message is one line ending in what was logged.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "common/log.h"

/* ---- level names ---- */

static void test_level_parse_reads_names_and_digits(void **state)
{
	assert_int_equal(sc_log_level_parse("error"), SC_LOG_ERROR);
	assert_int_equal(sc_log_level_parse("warn"), SC_LOG_WARN);
	assert_int_equal(sc_log_level_parse("info"), SC_LOG_INFO);
	assert_int_equal(sc_log_level_parse("debug"), SC_LOG_DEBUG);
	assert_int_equal(sc_log_level_parse("0"), SC_LOG_ERROR);
	assert_int_equal(sc_log_level_parse("1"), SC_LOG_WARN);
	assert_int_equal(sc_log_level_parse("2"), SC_LOG_INFO);
	assert_int_equal(sc_log_level_parse("3"), SC_LOG_DEBUG);
}

static void test_level_parse_refuses_anything_else(void **state)
{
	static const char *const bad[] = {"",      "verbose", "-1",        "x",  "1x",
	                                  "info ", " info",   "debugging", "err"};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("\"%s\"\n", bad[i]);
		assert_int_equal(sc_log_level_parse(bad[i]), -EINVAL);
	}
}

/* ---- a log file in a temporary directory ---- */

struct log_file {
	char dir[64];
	char path[PATH_MAX];
	char rotated[PATH_MAX];
};

static int log_file_setup(void **state)
{
	struct log_file *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sc-test-log-XXXXXX");
	if (!mkdtemp(f->dir)) {
		free(f);
		return -1;
	}
	snprintf(f->path, sizeof(f->path), "%s/test.log", f->dir);
	snprintf(f->rotated, sizeof(f->rotated), "%s/test.log.1", f->dir);
	*state = f;
	return 0;
}

static int log_file_teardown(void **state)
{
	struct log_file *f = *state;

	sc_log_close();
	unlink(f->path);
	unlink(f->rotated);
	rmdir(f->dir);
	free(f);
	return 0;
}

/* The lines of PATH, each without its newline; the file must end in one. */
struct lines {
	char *text;
	char **line;
	size_t count;
};

static void lines_read(const char *path, struct lines *out)
{
	FILE *file = fopen(path, "re");
	size_t size = 0, cap = 0;
	long end;

	memset(out, 0, sizeof(*out));
	assert_non_null(file);
	assert_int_equal(fseek(file, 0, SEEK_END), 0);
	end = ftell(file);
	assert_true(end >= 0);
	rewind(file);
	size = (size_t)end;
	out->text = malloc(size + 1);
	assert_non_null(out->text);
	assert_int_equal(fread(out->text, 1, size, file), size);
	fclose(file);
	out->text[size] = '\0';
	assert_int_equal(strlen(out->text), size); /* no NUL bytes in a log */
	if (size > 0)
		assert_int_equal(out->text[size - 1], '\n');
	for (char *p = out->text; *p;) {
		char *nl = strchr(p, '\n');
		if (out->count == cap) {
			cap = cap ? 2 * cap : 64;
			out->line = realloc(out->line, cap * sizeof(*out->line));
			assert_non_null(out->line);
		}
		*nl = '\0';
		out->line[out->count++] = p;
		p = nl + 1;
	}
}

static void lines_free(struct lines *lines)
{
	free(lines->line);
	free(lines->text);
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void assert_line_ends_with(const struct lines *lines, size_t i, const char *message)
{
	assert_true(i < lines->count);
	if (!ends_with(lines->line[i], message))
		fail_msg("line %zu \"%s\" does not end in \"%s\"", i + 1, lines->line[i], message);
}

static void test_file_gets_messages_at_or_below_level_only(void **state)
{
	const struct log_file *f = *state;
	struct lines lines;

	assert_int_equal(sc_log_open("test_log", f->path, SC_LOG_INFO), 0);
	assert_int_equal(sc_log_get_level(), SC_LOG_INFO);
	sc_log_error("an error %d", 1);
	sc_log_warn("a warning %s", "two");
	sc_log_info("some information");
	sc_log_debug("a debug message");
	sc_log(SC_LOG_DEBUG + 1, "deeper than debug");
	sc_log_close();

	lines_read(f->path, &lines);
	assert_int_equal(lines.count, 3);
	assert_line_ends_with(&lines, 0, "an error 1");
	assert_line_ends_with(&lines, 1, "a warning two");
	assert_line_ends_with(&lines, 2, "some information");
	assert_null(strstr(lines.text, "debug message"));
	assert_null(strstr(lines.text, "deeper"));
	lines_free(&lines);
}

static void test_set_level_moves_the_filter(void **state)
{
	const struct log_file *f = *state;
	struct lines lines;

	assert_int_equal(sc_log_open("test_log", f->path, SC_LOG_WARN), 0);
	sc_log_set_level(SC_LOG_ERROR);
	assert_int_equal(sc_log_get_level(), SC_LOG_ERROR);
	sc_log_warn("hidden warning");
	sc_log_error("shown error");
	sc_log_set_level(SC_LOG_DEBUG);
	assert_int_equal(sc_log_get_level(), SC_LOG_DEBUG);
	sc_log_debug("shown debug");
	sc_log_close();

	lines_read(f->path, &lines);
	assert_int_equal(lines.count, 2);
	assert_line_ends_with(&lines, 0, "shown error");
	assert_line_ends_with(&lines, 1, "shown debug");
	assert_null(strstr(lines.text, "hidden"));
	lines_free(&lines);
}

static void test_open_appends_to_an_existing_file(void **state)
{
	const struct log_file *f = *state;
	FILE *file = fopen(f->path, "we");
	struct lines lines;

	assert_non_null(file);
	fputs("an older line\n", file);
	fclose(file);
	assert_int_equal(sc_log_open("test_log", f->path, SC_LOG_WARN), 0);
	sc_log_warn("a newer line");
	sc_log_close();

	lines_read(f->path, &lines);
	assert_int_equal(lines.count, 2);
	assert_string_equal(lines.line[0], "an older line");
	assert_line_ends_with(&lines, 1, "a newer line");
	lines_free(&lines);
}

static void test_message_with_newlines_stays_one_line(void **state)
{
	const struct log_file *f = *state;
	struct lines lines;

	assert_int_equal(sc_log_open("test_log", f->path, SC_LOG_WARN), 0);
	sc_log_error("first part\nsecond part\r\nthird part");
	sc_log_error("next message");
	sc_log_close();

	lines_read(f->path, &lines);
	assert_int_equal(lines.count, 2);
	assert_non_null(strstr(lines.line[0], "first part"));
	assert_non_null(strstr(lines.line[0], "third part"));
	assert_line_ends_with(&lines, 1, "next message");
	lines_free(&lines);
}

static void test_overlong_message_is_cut_to_one_line(void **state)
{
	enum { LONG = 10000 };
	const struct log_file *f = *state;
	char *message = malloc(LONG + 1);
	struct lines lines;

	assert_non_null(message);
	memset(message, 'm', LONG);
	message[LONG] = '\0';
	assert_int_equal(sc_log_open("test_log", f->path, SC_LOG_WARN), 0);
	sc_log_error("%s", message);
	sc_log_error("after the long one");
	sc_log_close();
	free(message);

	lines_read(f->path, &lines);
	assert_int_equal(lines.count, 2);
	assert_non_null(strstr(lines.line[0], "mmmmmmmm"));
	assert_line_ends_with(&lines, 1, "after the long one");
	lines_free(&lines);
}

static void test_reopen_follows_a_rotated_file(void **state)
{
	const struct log_file *f = *state;
	struct lines before, after;

	assert_int_equal(sc_log_open("test_log", f->path, SC_LOG_WARN), 0);
	sc_log_warn("before rotation");
	/* What logrotate does: move the file away, then ask for a reopen. */
	assert_int_equal(rename(f->path, f->rotated), 0);
	assert_int_equal(sc_log_reopen(), 0);
	sc_log_warn("after rotation");
	sc_log_close();

	lines_read(f->rotated, &before);
	lines_read(f->path, &after);
	assert_int_equal(before.count, 1);
	assert_line_ends_with(&before, 0, "before rotation");
	assert_int_equal(after.count, 1);
	assert_line_ends_with(&after, 0, "after rotation");
	lines_free(&before);
	lines_free(&after);
}

static void test_open_of_unwritable_path_fails_with_errno(void **state)
{
	const struct log_file *f = *state;
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/no-such-dir/test.log", f->dir);
	assert_int_equal(sc_log_open("test_log", path, SC_LOG_WARN), -ENOENT);
}

/* ---- several threads at once ---- */

#define THREADS 8
#define LINES_PER_THREAD 500
/* Long enough that a message split in two writes would show. */
#define PAYLOAD_LEN 400

struct log_worker {
	pthread_t thread;
	int id;
};

static char payload[PAYLOAD_LEN + 1];

static void *log_worker_run(void *arg)
{
	const struct log_worker *worker = arg;

	for (int n = 0; n < LINES_PER_THREAD; n++)
		sc_log_info("<begin thread=%d line=%d %s end>", worker->id, n, payload);
	return NULL;
}

static void test_threads_logging_at_once_write_only_whole_lines(void **state)
{
	const struct log_file *f = *state;
	struct log_worker workers[THREADS];
	static bool seen[THREADS][LINES_PER_THREAD];
	char tail[PAYLOAD_LEN + 8];
	struct lines lines;

	memset(payload, 'p', PAYLOAD_LEN);
	memset(seen, 0, sizeof(seen));
	snprintf(tail, sizeof(tail), " %s end>", payload);
	assert_int_equal(sc_log_open("test_log", f->path, SC_LOG_INFO), 0);
	for (int i = 0; i < THREADS; i++) {
		workers[i].id = i;
		assert_int_equal(
		    pthread_create(&workers[i].thread, NULL, log_worker_run, &workers[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(workers[i].thread, NULL), 0);
	sc_log_close();

	lines_read(f->path, &lines);
	assert_int_equal(lines.count, THREADS * LINES_PER_THREAD);
	for (size_t i = 0; i < lines.count; i++) {
		const char *line = lines.line[i], *begin = strstr(line, "<begin ");
		int thread = -1, n = -1, used = 0;

		if (!begin || strstr(begin + 1, "<begin ") || !ends_with(line, tail))
			fail_msg("line %zu is not one whole message: \"%s\"", i + 1, line);
		if (sscanf(begin, "<begin thread=%d line=%d%n", &thread, &n, &used) != 2 ||
		    strcmp(begin + used, tail) != 0)
			fail_msg("line %zu is garbled: \"%s\"", i + 1, line);
		assert_in_range(thread, 0, THREADS - 1);
		assert_in_range(n, 0, LINES_PER_THREAD - 1);
		if (seen[thread][n])
			fail_msg("thread %d line %d appears twice", thread, n);
		seen[thread][n] = true;
	}
	lines_free(&lines);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_level_parse_reads_names_and_digits),
	    cmocka_unit_test(test_level_parse_refuses_anything_else),
	    cmocka_unit_test_setup_teardown(test_file_gets_messages_at_or_below_level_only,
	                                    log_file_setup, log_file_teardown),
	    cmocka_unit_test_setup_teardown(test_set_level_moves_the_filter, log_file_setup,
	                                    log_file_teardown),
	    cmocka_unit_test_setup_teardown(test_open_appends_to_an_existing_file, log_file_setup,
	                                    log_file_teardown),
	    cmocka_unit_test_setup_teardown(test_message_with_newlines_stays_one_line,
	                                    log_file_setup, log_file_teardown),
	    cmocka_unit_test_setup_teardown(test_overlong_message_is_cut_to_one_line,
	                                    log_file_setup, log_file_teardown),
	    cmocka_unit_test_setup_teardown(test_reopen_follows_a_rotated_file, log_file_setup,
	                                    log_file_teardown),
	    cmocka_unit_test_setup_teardown(test_open_of_unwritable_path_fails_with_errno,
	                                    log_file_setup, log_file_teardown),
	    cmocka_unit_test_setup_teardown(test_threads_logging_at_once_write_only_whole_lines,
	                                    log_file_setup, log_file_teardown),
	};

	return cmocka_run_group_tests_name("common/log", tests, NULL, NULL);
}
