/* The seed examples: each runs as a program of its own (from the examples build directory,
 * the working directory meson gives this test) and its output is checked against what
 * the seed describes. Where the seed's own output depends on scheduling, only what it
 * guarantees is checked: counts, and the order of lines that are ordered. */
#include "harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { EXAMPLE_TIMEOUT_MS = 60000 };

typedef struct {
    char *out, *err;
    int exitcode;
    char **lines; /* stdout split into lines */
    size_t count;
} run_result;

static run_result run_example(const char *name)
{
    char exe[256];
#ifdef _WIN32
    snprintf(exe, sizeof exe, ".\\%s.exe", name);
#else
    snprintf(exe, sizeof exe, "./%s", name);
#endif
    run_result r = {0};
    if (!harness_run_program(exe, EXAMPLE_TIMEOUT_MS, &r.out, &r.err, &r.exitcode))
        fail_msg("%s did not run to its end within %d ms", name, EXAMPLE_TIMEOUT_MS);
    size_t cap = 16;
    r.lines = malloc(cap * sizeof *r.lines);
    for (char *line = r.out; *line;) {
        char *nl = strchr(line, '\n');
        if (nl) {
            *nl = '\0';
            if (nl > line && nl[-1] == '\r') /* a Windows child's text-mode line end */
                nl[-1] = '\0';
        }
        if (r.count == cap)
            r.lines = realloc(r.lines, (cap *= 2) * sizeof *r.lines);
        r.lines[r.count++] = line;
        if (!nl)
            break;
        line = nl + 1;
    }
    print_message("--- %s exited with %d; stderr:\n%s--- stdout:\n", name, r.exitcode, r.err);
    for (size_t i = 0; i < r.count; i++)
        print_message("  | %s\n", r.lines[i]);
    return r;
}

static void free_result(run_result *r)
{
    free(r->lines);
    free(r->out);
    free(r->err);
}

/* Glob match where '*' stands for any run of characters. */
static bool matches(const char *pattern, const char *text)
{
    if (*pattern == '\0')
        return *text == '\0';
    if (*pattern == '*')
        return matches(pattern + 1, text) || (*text && matches(pattern, text + 1));
    return *pattern == *text && matches(pattern + 1, text + 1);
}

static size_t count_matching(const run_result *r, const char *pattern)
{
    size_t n = 0;
    for (size_t i = 0; i < r->count; i++)
        n += matches(pattern, r->lines[i]);
    return n;
}

/* stdout is exactly these lines. */
static void expect_exact(const run_result *r, const char *const *patterns, size_t n)
{
    if (r->count != n)
        fail_msg("%lu lines of output, wanted %lu", (unsigned long)r->count, (unsigned long)n);
    for (size_t i = 0; i < n; i++)
        if (!matches(patterns[i], r->lines[i]))
            fail_msg("line %lu is \"%s\", wanted \"%s\"", (unsigned long)(i + 1), r->lines[i],
                     patterns[i]);
}
#define EXPECT_EXACT(r, ...)                                                                       \
    do {                                                                                           \
        const char *const want_[] = {__VA_ARGS__};                                                 \
        expect_exact(r, want_, sizeof want_ / sizeof want_[0]);                                    \
    } while (0)

/* These lines appear in this order (other lines may come between them). */
static void expect_in_order(const run_result *r, const char *const *patterns, size_t n)
{
    size_t next = 0;
    for (size_t i = 0; i < r->count && next < n; i++)
        if (matches(patterns[next], r->lines[i]))
            next++;
    if (next < n)
        fail_msg("no line \"%s\" after the ones before it", patterns[next]);
}
#define EXPECT_IN_ORDER(r, ...)                                                                    \
    do {                                                                                           \
        const char *const want_[] = {__VA_ARGS__};                                                 \
        expect_in_order(r, want_, sizeof want_ / sizeof want_[0]);                                 \
    } while (0)

static void expect_clean_exit(const run_result *r)
{
    assert_int_equal(r->exitcode, 0);
    assert_string_equal(r->err, "");
}

/* The README's first program. */
static void first(void **state)
{
    (void)state;
    run_result r = run_example("first");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "hello world from Process-1", "the child ended with 0 (success)");
    free_result(&r);
}

static void tour(void **state)
{
    (void)state;
    run_result r = run_example("tour");
    expect_clean_exit(&r);
    EXPECT_IN_ORDER(&r, "mproc * tour: MainProcess, pid *",
                    "spawn:", "  [spawn] hello from Process-*, pid *; exiting with 11",
                    "  Process-* ended with exit code 11 after *",
                    "  join(sleepy, 100 ms) -> MPROC_ETIMEDOUT; alive: 1",
                    "  after terminate: exit code -15 *",
                    "a daemon child is running; it is terminated when main() returns");
    if (!harness_is_windows()) {
        EXPECT_IN_ORDER(&r, "fork:", "  [fork] hello from Process-*, pid *; exiting with 10",
                        "  Process-* ended with exit code 10 after *");
        EXPECT_IN_ORDER(
            &r, "forkserver:", "  [forkserver] hello from Process-*, pid *; exiting with 12",
            "  Process-* ended with exit code 12 after *");
    }
    free_result(&r);
}

static void s000_single(void **state)
{
    (void)state;
    run_result r = run_example("s000_single");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "--------end", "-----耗时：* ");
    free_result(&r);
}

static void s000_no_join(void **state)
{
    (void)state;
    run_result r = run_example("s000_no_join");
    expect_clean_exit(&r);
    /* The parent does not wait, yet the program ends only after the child's line. */
    EXPECT_EXACT(&r, "--------end", "-----耗时：* ", "==============: 子进程结束");
    free_result(&r);
}

static void s000_join(void **state)
{
    (void)state;
    run_result r = run_example("s000_join");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "==============: 子进程结束", "--------end", "-----耗时：* ");
    free_result(&r);
}

static void s000_daemon(void **state)
{
    (void)state;
    run_result r = run_example("s000_daemon");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "--------end", "-----耗时：* "); /* the daemon never gets to print */
    free_result(&r);
}

/* Seed 000's three children 100, 200, 300 report the main process as their parent. */
static void check_three_children(const run_result *r, bool with_code)
{
    long long main_pid = 0;
    assert_true(r->count > 0);
    assert_int_equal(sscanf(r->lines[0], "主进程:%lld", &main_pid), 1);
    assert_true(main_pid > 0 && main_pid != mproc_getpid());
    for (int data = 100; data <= 300; data += 100) {
        char started[128], ended[160];
        snprintf(started, sizeof started, "测试多进程任务：%d, 当前进程号：*, 父进程号为: %lld",
                 data, main_pid);
        if (with_code)
            snprintf(ended, sizeof ended,
                     "多进程任务结束：%d, 当前进程号为: *, sh_dock_code is [31, 32, %d]", data,
                     data);
        else
            snprintf(ended, sizeof ended, "多进程任务结束：%d, 当前进程号为: *", data);
        assert_int_equal(count_matching(r, started), 1);
        assert_int_equal(count_matching(r, ended), 1);
        EXPECT_IN_ORDER(r, started, ended);
    }
}

static void s000_multi(void **state)
{
    (void)state;
    run_result r = run_example("s000_multi");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 7);
    check_three_children(&r, false);
    free_result(&r);
}

static void s000_multi_subclass(void **state)
{
    (void)state;
    run_result r = run_example("s000_multi_subclass");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 7);
    check_three_children(&r, false);
    free_result(&r);
}

static void s000_no_share(void **state)
{
    (void)state;
    run_result r = run_example("s000_no_share");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 8);
    check_three_children(&r, true);
    /* The parent's list is untouched by the children. */
    assert_true(matches("sh_dock_code is [31, 32, 33, 34]*", r.lines[7]));
    free_result(&r);
}

static void s001_start(void **state)
{
    (void)state;
    run_result r = run_example("s001_start");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 3);
    EXPECT_IN_ORDER(&r, "大海 is running", "大海 is done");
    EXPECT_IN_ORDER(&r, "主", "大海 is done");
    free_result(&r);
}

static void s001_join_multi(void **state)
{
    (void)state;
    run_result r = run_example("s001_join_multi");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 9);
    for (int i = 1; i <= 4; i++) {
        char running[32], done[32];
        snprintf(running, sizeof running, "大海%d is running", i);
        snprintf(done, sizeof done, "大海%d is done", i);
        assert_int_equal(count_matching(&r, running), 1);
        assert_int_equal(count_matching(&r, done), 1);
    }
    /* Each child sleeps i seconds, so they finish in order; then the parent, which joined
     * all four, prints the time it waited: at least the longest sleep. */
    EXPECT_IN_ORDER(&r, "大海1 is done", "大海2 is done", "大海3 is done", "大海4 is done", "主 *");
    double waited = 0;
    assert_int_equal(sscanf(r.lines[8], "主 %lf", &waited), 1);
    assert_true(waited >= 3.9);
    free_result(&r);
}

static void s001_isolation(void **state)
{
    (void)state;
    run_result r = run_example("s001_isolation");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "100");
    free_result(&r);
}

static void s001_attributes(void **state)
{
    (void)state;
    run_result r = run_example("s001_attributes");
    expect_clean_exit(&r);
    EXPECT_IN_ORDER(&r, "Process-1", "False", "主*爹是 *", "exitcode -15");
    assert_int_equal(count_matching(&r, "* is done爹是 *"), 0);
    assert_true(count_matching(&r, "* is running爹是 *") <= 1);
    free_result(&r);
}

static void s001_daemon(void **state)
{
    (void)state;
    run_result r = run_example("s001_daemon");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "老太监活着", "皇帝正在死亡");
    free_result(&r);
}

static void s002_simple(void **state)
{
    (void)state;
    run_result r = run_example("s002_simple");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "func worker", "parent pid = *", "current pid = *", "Process-1");
    free_result(&r);
}

static void s002_named(void **state)
{
    (void)state;
    run_result r = run_example("s002_named");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "parent pid = *", "this is worker1 func", "current pid = *",
                 "child process name = worker1", "this is worker1 func", "current pid = *",
                 "child process name = worker1", "this is worker1 func", "current pid = *",
                 "child process name = worker1", "this is worker2 func", "current pid = *",
                 "child process name = worker2");
    free_result(&r);
}

static void s003_logging(void **state)
{
    (void)state;
    run_result r = run_example("s003_logging");
    assert_int_equal(r.exitcode, 0);
    EXPECT_EXACT(&r, "True", "test");
    assert_string_equal(r.err, "[INFO/MainProcess] 我是通用格式\n"
                               "[INFO/MainProcess] info 测试\n"
                               "[WARNING/MainProcess] warning 测试\n"
                               "[ERROR/MainProcess] error 测试\n"
                               "[INFO/Process-1] child process calling self.run()\n"
                               "[INFO/Process-1] process shutting down\n"
                               "[INFO/Process-1] process exiting with exitcode 0\n"
                               "[INFO/MainProcess] process shutting down\n");
    free_result(&r);
}

/* Dancing and singing, three lines each, interleaved however the scheduler likes. */
static void check_dance_and_sing(const char *name)
{
    run_result r = run_example(name);
    expect_clean_exit(&r);
    assert_int_equal(r.count, 6);
    assert_int_equal(count_matching(&r, "唱歌中..."), 3);
    assert_int_equal(count_matching(&r, "跳舞中..."), 3);
    free_result(&r);
}

static void s004_dance_sing(void **state)
{
    (void)state;
    check_dance_and_sing("s004_dance_sing");
}

static void s004_two_children(void **state)
{
    (void)state;
    check_dance_and_sing("s004_two_children");
}

static void s004_kill_pid(void **state)
{
    (void)state;
    run_result r = run_example("s004_kill_pid");
    expect_clean_exit(&r);
    EXPECT_IN_ORDER(&r, "kill *", "exitcode -9");
    assert_true(count_matching(&r, "任务执行中..") < 50);
    assert_int_equal(r.count, count_matching(&r, "任务执行中..") + 2);
    free_result(&r);
}

static void s004_args_kwargs(void **state)
{
    (void)state;
    run_result r = run_example("s004_args_kwargs");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 2);
    assert_int_equal(count_matching(&r, "名字为Tom, 年龄为30"), 1);
    assert_int_equal(count_matching(&r, "名字为Jerry, 年龄为15"), 1);
    free_result(&r);
}

static void s004_no_global_share(void **state)
{
    (void)state;
    run_result r = run_example("s004_no_global_share");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 6);
    EXPECT_EXACT(&r, "add: 0", "add: 1", "add: 2", "添加完成： [0, 1, 2]", "*", "*");
    assert_int_equal(count_matching(&r, "主进程读取： []"), 1);
    assert_int_equal(count_matching(&r, "read: []"), 1);
    free_result(&r);
}

/* Seed 004 §3.6: a child printing ten lines, 0.1 s apart, and a parent that prints "over"
 * after 0.5 s. Returns how many lines the child printed before "over"; *after says how many
 * came after it. A child ended while the parent exits may leave one last line torn (seen
 * under Wine), so lines after "over" are only counted. */
static size_t check_ten_line_child(const char *name, size_t *after, size_t *all_exact)
{
    run_result r = run_example(name);
    expect_clean_exit(&r);
    assert_int_equal(count_matching(&r, "over"), 1);
    size_t before = 0;
    while (before < r.count && strcmp(r.lines[before], "over") != 0) {
        assert_string_equal(r.lines[before], "任务执行中..");
        before++;
    }
    *after = r.count - before - 1;
    *all_exact = count_matching(&r, "任务执行中..");
    free_result(&r);
    return before;
}

static void s004_main_waits(void **state)
{
    (void)state;
    size_t after, exact;
    size_t before = check_ten_line_child("s004_main_waits", &after, &exact);
    assert_int_equal(before + after, 10); /* waited for: all ten lines, none torn */
    assert_int_equal(exact, 10);
}

static void s004_daemon(void **state)
{
    (void)state;
    size_t after, exact;
    size_t before = check_ten_line_child("s004_daemon", &after, &exact);
    assert_true(before < 10 && after <= 1); /* destroyed with the parent */
}

static void s004_terminate(void **state)
{
    (void)state;
    size_t after, exact;
    size_t before = check_ten_line_child("s004_terminate", &after, &exact);
    assert_true(before < 10 && after <= 1); /* terminated first */
}

static void s003_subprocess_run(void **state)
{
    (void)state;
    run_result r = run_example("s003_subprocess_run");
    expect_clean_exit(&r);
    assert_true(r.count > 2); /* the listing, then the result */
    assert_string_equal(r.lines[r.count - 1],
                        harness_is_windows()
                            ? "CompletedProcess(args=['cmd', '/c', 'dir'], returncode=0)"
                            : "CompletedProcess(args=['ls', '-al'], returncode=0)");
    assert_true(count_matching(&r, harness_is_windows() ? "*s003_subprocess_run.exe*"
                                                        : "*s003_subprocess_run*") >= 1);
    free_result(&r);
}

static void s003_communicate(void **state)
{
    (void)state;
    run_result r = run_example("s003_communicate");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "Out:In [1]: print(\"hello\")", "", "Err:");
    free_result(&r);
}

static void s003_pipeline(void **state)
{
    (void)state;
    run_result r = run_example("s003_pipeline");
    expect_clean_exit(&r);
    const char *pattern = harness_is_windows() ? "*SystemRoot*" : "*bash*";
    size_t lines = 0;
    for (size_t i = 0; i < r.count; i++) {
        if (!r.lines[i][0])
            continue;
        if (!matches(pattern, r.lines[i]))
            fail_msg("line \"%s\" did not pass the filter", r.lines[i]);
        lines++;
    }
    assert_true(lines >= 1); /* at least the filter itself (grep bash) is listed */
    free_result(&r);
}

/* Seed 000's shared count without a lock: ten additions, interleaved however they come. */
static void s000_no_lock(void **state)
{
    (void)state;
    run_result r = run_example("s000_no_lock");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 11);
    assert_int_equal(count_matching(&r, "share_data count is * "), 10);
    assert_int_equal(count_matching(&r, "{'count': *, 100: 1000000, 200: 8000000}") +
                         count_matching(&r, "{'count': *, 200: 8000000, 100: 1000000}"),
                     1);
    assert_true(matches("{'count': *}", r.lines[10]));
    free_result(&r);
}

/* With the Lock, one child's five additions all come before the other's. */
static void s000_lock(void **state)
{
    (void)state;
    run_result r = run_example("s000_lock");
    expect_clean_exit(&r);
    assert_true(r.count > 0);
    if (strcmp(r.lines[0], "share_data count is 600 ") == 0)
        EXPECT_EXACT(
            &r, "share_data count is 600 ", "share_data count is 700 ", "share_data count is 800 ",
            "share_data count is 900 ", "share_data count is 1000 ", "share_data count is 1200 ",
            "share_data count is 1400 ", "share_data count is 1600 ", "share_data count is 1800 ",
            "share_data count is 2000 ", "{'count': 2000, 100: 1000000, 200: 8000000}");
    else
        EXPECT_EXACT(
            &r, "share_data count is 700 ", "share_data count is 900 ", "share_data count is 1100 ",
            "share_data count is 1300 ", "share_data count is 1500 ", "share_data count is 1600 ",
            "share_data count is 1700 ", "share_data count is 1800 ", "share_data count is 1900 ",
            "share_data count is 2000 ", "{'count': 2000, 200: 8000000, 100: 1000000}");
    free_result(&r);
}

/* Semaphore(3): each child enters, starts and is done once, in that order, and the lines
 * never show more than three children between "start" and "done" (each prints "start"
 * after acquire and "done" before release, so the lines understate, never overstate, how
 * many hold the semaphore). */
static void s000_semaphore(void **state)
{
    (void)state;
    run_result r = run_example("s000_semaphore");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 15);
    for (int data = 100; data <= 500; data += 100) {
        char enter[64], start[64], done[64];
        snprintf(enter, sizeof enter, "--------data: %d enter work", data);
        snprintf(start, sizeof start, "data: %d start work", data);
        snprintf(done, sizeof done, "data: %d done work", data);
        assert_int_equal(count_matching(&r, enter), 1);
        assert_int_equal(count_matching(&r, start), 1);
        assert_int_equal(count_matching(&r, done), 1);
        EXPECT_IN_ORDER(&r, enter, start, done);
    }
    int inside = 0, most = 0;
    for (size_t i = 0; i < r.count; i++) {
        if (matches("data: * start work", r.lines[i]))
            inside++;
        else if (matches("data: * done work", r.lines[i]))
            inside--;
        if (inside > most)
            most = inside;
    }
    assert_true(most >= 1 && most <= 3);
    free_result(&r);
}

/* Three tickets, ten buyers: each looks once and then buys or finds none; the purchases
 * are serial, so exactly three succeed, before anyone finds none. */
static void s001_tickets(void **state)
{
    (void)state;
    run_result r = run_example("s001_tickets");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 20);
    for (int i = 0; i < 10; i++) {
        char search[64], bought[64], none[64];
        snprintf(search, sizeof search, "路人%d 查看到余票为*", i);
        snprintf(bought, sizeof bought, "路人%d 购票成功", i);
        snprintf(none, sizeof none, "路人%d查看到没有票了", i);
        assert_int_equal(count_matching(&r, search), 1);
        assert_int_equal(count_matching(&r, bought) + count_matching(&r, none), 1);
        EXPECT_IN_ORDER(&r, search, count_matching(&r, bought) ? bought : none);
    }
    for (size_t i = 0; i < r.count; i++) {
        int left = -1;
        if (matches("路人* 查看到余票为*", r.lines[i])) {
            assert_int_equal(sscanf(strstr(r.lines[i], "为") + strlen("为"), "%d", &left), 1);
            assert_true(left >= 0 && left <= 3);
        }
    }
    assert_int_equal(count_matching(&r, "路人* 购票成功"), 3);
    assert_int_equal(count_matching(&r, "路人*查看到没有票了"), 7);
    EXPECT_IN_ORDER(&r, "路人* 购票成功", "路人* 购票成功", "路人* 购票成功", "路人*查看到没有票了",
                    "路人*查看到没有票了", "路人*查看到没有票了", "路人*查看到没有票了",
                    "路人*查看到没有票了", "路人*查看到没有票了", "路人*查看到没有票了");
    free_result(&r);
}

static void s002_lock_rlock(void **state)
{
    (void)state;
    run_result r = run_example("s002_lock_rlock");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "lock.acquire() -> True", "lock.acquire(timeout=0.1) -> False",
                 "Process-*: line 1 of 3", "Process-*: line 2 of 3", "Process-*: line 3 of 3",
                 "Process-*: line 1 of 3", "Process-*: line 2 of 3", "Process-*: line 3 of 3",
                 "Process-*: line 1 of 3", "Process-*: line 2 of 3", "Process-*: line 3 of 3",
                 "rlock.acquire() -> True", "rlock.acquire() -> True",
                 "Process-4: rlock.acquire(timeout=0.1) -> False", "rlock released twice",
                 "Process-5: rlock.acquire(timeout=0.1) -> True",
                 "Process-6: depth 1, holding the RLock", "Process-6: depth 2, holding the RLock",
                 "Process-6: depth 3, holding the RLock", "Process-6: depth 3, released",
                 "Process-6: depth 2, released", "Process-6: depth 1, released");
    /* Under the Lock, each child's three lines stay together: three blocks, three names. */
    for (int block = 0; block < 3; block++) {
        const char *first = r.lines[2 + 3 * block];
        size_t name_len = (size_t)(strchr(first, ':') - first);
        for (int i = 1; i < 3; i++)
            assert_memory_equal(r.lines[2 + 3 * block + i], first, name_len + 1);
        for (int other = 0; other < block; other++)
            assert_false(strncmp(r.lines[2 + 3 * other], first, name_len + 1) == 0);
    }
    free_result(&r);
}

/* Two consumers, two items: a consumer takes an item only after it was made. */
static void s002_condition(void **state)
{
    (void)state;
    run_result r = run_example("s002_condition");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 7);
    assert_string_equal(r.lines[6], "items left: 0");
    EXPECT_IN_ORDER(&r, "producer: item 1 is ready", "producer: item 2 is ready");
    for (int i = 1; i <= 2; i++) {
        char waiting[64], took[64];
        snprintf(waiting, sizeof waiting, "Process-%d: waiting for an item", i);
        snprintf(took, sizeof took, "Process-%d: took an item", i);
        assert_int_equal(count_matching(&r, waiting), 1);
        assert_int_equal(count_matching(&r, took), 1);
        EXPECT_IN_ORDER(&r, waiting, took);
    }
    int made = 0, taken = 0;
    for (size_t i = 0; i < r.count; i++) {
        made += matches("producer: item * is ready", r.lines[i]);
        taken += matches("Process-*: took an item", r.lines[i]);
        assert_true(taken <= made);
    }
    free_result(&r);
}

/* Nobody goes on before the event is set; everybody does after. */
static void s002_event(void **state)
{
    (void)state;
    run_result r = run_example("s002_event");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 11);
    EXPECT_IN_ORDER(&r, "event.is_set() -> False", "event.wait(timeout=0.1) -> False");
    assert_int_equal(count_matching(&r, "main: setting the event"), 1);
    for (int i = 1; i <= 3; i++) {
        char waiting[64], going[64];
        snprintf(waiting, sizeof waiting, "Process-%d: waiting for the event", i);
        snprintf(going, sizeof going, "Process-%d: the event is set, going on", i);
        assert_int_equal(count_matching(&r, waiting), 1);
        assert_int_equal(count_matching(&r, going), 1);
        EXPECT_IN_ORDER(&r, waiting, going);
        EXPECT_IN_ORDER(&r, "main: setting the event", going, "event.is_set() -> True");
    }
    assert_string_equal(r.lines[9], "event.is_set() -> True");
    assert_string_equal(r.lines[10], "after clear(): event.is_set() -> False");
    free_result(&r);
}

/* Every typecode holds its C type's extreme value, with the size of that type here. */
static void s002_typecodes(void **state)
{
    (void)state;
    run_result r = run_example("s002_typecodes");
    expect_clean_exit(&r);
    char ul[96], l[96];
    snprintf(ul, sizeof ul, "'L' -> unsigned long, %d bytes: %s", (int)sizeof(long),
             sizeof(long) == 8 ? "9223372036854775807" : "4294967295");
    snprintf(l, sizeof l, "'l' -> long, %d bytes: %s", (int)sizeof(long),
             sizeof(long) == 8 ? "-9223372036854775808" : "-2147483648");
    EXPECT_EXACT(&r, "'B' -> unsigned char, 1 bytes: 255", "'H' -> unsigned short, 2 bytes: 65535",
                 "'I' -> unsigned int, 4 bytes: 4294967295", ul,
                 "'b' -> signed char, 1 bytes: -128", "'c' -> char, 1 bytes: 65",
                 "'d' -> double, 8 bytes: 3.14", "'f' -> float, 4 bytes: 3.14",
                 "'h' -> short, 2 bytes: -32768", "'i' -> int, 4 bytes: -2147483648", l,
                 "'q' -> long long, 8 bytes: -9223372036854775808",
                 "'Q' -> unsigned long long, 8 bytes: 9223372036854775807",
                 "Value('i').get_lock(): acquire() -> True, again -> True (an RLock)",
                 "Array('i', 10).get_lock(): an RLock", "Value('i', lock=False): no lock",
                 "Array('i', 10, lock=False): no lock");
    free_result(&r);
}

/* Each child sees 3.14 and sets its element; the parent sees both. */
static void s003_value_array(void **state)
{
    (void)state;
    run_result r = run_example("s003_value_array");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "<mproc_value 'd' (Synchronized)>",
                 "<mproc_array 'i' * 10 (SynchronizedArray)>", "子进程*", "子进程*", "子进程*",
                 "子进程*", "父进程 3.14", "父进程 [10, 10, 2, 3, 4, 5, 6, 7, 8, 9]", "No Except");
    assert_int_equal(count_matching(&r, "子进程1 3.14"), 1);
    assert_int_equal(count_matching(&r, "子进程2 3.14"), 1);
    assert_int_equal(count_matching(&r, "子进程1 [10, 1, 2, 3, 4, 5, 6, 7, 8, 9]") +
                         count_matching(&r, "子进程1 [10, 10, 2, 3, 4, 5, 6, 7, 8, 9]"),
                     1);
    assert_int_equal(count_matching(&r, "子进程2 [0, 10, 2, 3, 4, 5, 6, 7, 8, 9]") +
                         count_matching(&r, "子进程2 [10, 10, 2, 3, 4, 5, 6, 7, 8, 9]"),
                     1);
    EXPECT_IN_ORDER(&r, "子进程1 3.14", "子进程1 [*");
    EXPECT_IN_ORDER(&r, "子进程2 3.14", "子进程2 [*");
    free_result(&r);
}

/* value.value += 1 without the lock may lose additions (the total is only printed); with
 * get_lock() held, the five children's 1000 additions always make 5000. */
static void s003_counter(void **state)
{
    (void)state;
    run_result r = run_example("s003_counter");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 2);
    long long racy = 0;
    assert_int_equal(sscanf(r.lines[0], "%lld", &racy), 1);
    assert_true(racy >= 1 && racy <= 5000);
    assert_string_equal(r.lines[1], "5000");
    free_result(&r);
}

/* Seed 000's queue: each child's {data: data**3} is taken once, after all three ended. */
static void s000_queue(void **state)
{
    (void)state;
    run_result r = run_example("s000_queue");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 10);
    check_three_children(&r, false);
    for (size_t i = 7; i < 10; i++)
        assert_true(matches("{*: *}", r.lines[i]));
    assert_int_equal(count_matching(&r, "{100: 1000000}"), 1);
    assert_int_equal(count_matching(&r, "{200: 8000000}"), 1);
    assert_int_equal(count_matching(&r, "{300: 27000000}"), 1);
    free_result(&r);
}

/* One producer, one consumer: the five works in order, and the None ends the consumer. */
static void s000_producer_consumer(void **state)
{
    (void)state;
    run_result r = run_example("s000_producer_consumer");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "work：0", "work：1", "work：2", "work：3", "work：4");
    free_result(&r);
}

/* Queue(3): first in, first out; a get on the empty queue waits and times out. */
static void s001_queue(void **state)
{
    (void)state;
    run_result r = run_example("s001_queue");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "篮子满了", "a", "b", "{'a': 2}", "队列为空",
                 "q.get(timeout=0.3) -> MPROC_ETIMEDOUT (queue.Empty)");
    free_result(&r);
}

/* Seed 001's three cooks and two eaters: each cook makes its ten dishes in order, before
 * the parent's 主; each dish is eaten exactly once, by one of the two eaters. When
 * `all_eaten_first`, every dish was eaten before 主 too (JoinableQueue.join). */
static void check_cooks_and_eaters(const char *name, bool all_eaten_first)
{
    static const char *const cooks[] = {"大海", "中海", "小海"};
    static const char *const foods[] = {"包子", "辣椒炒肉", "土豆丝"};
    run_result r = run_example(name);
    expect_clean_exit(&r);
    assert_int_equal(r.count, 61);
    assert_int_equal(count_matching(&r, "厨师*生产了*"), 30);
    assert_int_equal(count_matching(&r, "吃货夏洛吃了*") + count_matching(&r, "吃货西施吃了*"), 30);
    assert_int_equal(count_matching(&r, "主*"), 1);
    for (int c = 0; c < 3; c++) {
        size_t next = 0;
        for (int i = 0; i < 10; i++) {
            char made[96], eaten[96];
            snprintf(made, sizeof made, "厨师%s生产了%s%d", cooks[c], foods[c], i);
            snprintf(eaten, sizeof eaten, "吃货*吃了%s%d", foods[c], i);
            assert_int_equal(count_matching(&r, made), 1);
            assert_int_equal(count_matching(&r, eaten), 1);
            while (next < r.count && strcmp(r.lines[next], made) != 0)
                next++;
            if (next == r.count)
                fail_msg("\"%s\" is not after %s's dishes before it", made, cooks[c]);
            EXPECT_IN_ORDER(&r, made, "主*");
        }
    }
    if (all_eaten_first)
        assert_true(matches("主 *", r.lines[60]));
    free_result(&r);
}

static void s001_producer_consumer(void **state)
{
    (void)state;
    check_cooks_and_eaters("s001_producer_consumer", false);
}

static void s001_joinable_queue(void **state)
{
    (void)state;
    check_cooks_and_eaters("s001_joinable_queue", true);
}

/* The parent gets the child's message, the child the parent's answer. */
static void s003_queue_intro(void **state)
{
    (void)state;
    run_result r = run_example("s003_queue_intro");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "[子进程]老爸，我出去嗨了", "[父进程]去吧比卡丘～");
    free_result(&r);
}

/* Queue(3) full: the timed put and put_nowait fail; get_nowait takes the three in order. */
static void s003_queue_full(void **state)
{
    (void)state;
    run_result r = run_example("s003_queue_full");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "消息队列已满，队列数3，当前存在3条消息",
                 "消息队列已满，队列数3，当前存在3条消息",
                 "队列数：3，当前存在3条消息 内容[1, 2, 3, 4]",
                 "队列数：3，当前存在2条消息 内容{'a': 1, 'b': 2}",
                 "队列数：3，当前存在1条消息 内容{1, 2, 3, 4}", "队列数：3，当前存在：0条消息",
                 "q.full()：True（3条消息时），q.empty()：True（取完后）");
    free_result(&r);
}

/* Child 2 prints child 1's question; child 1, retrying, prints child 2's answer. Both
 * children have the same parent. */
static void s003_queue_children(void **state)
{
    (void)state;
    run_result r = run_example("s003_queue_children");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 4);
    assert_int_equal(count_matching(&r, "[子进程1]PPID=*,PID=*"), 1);
    assert_int_equal(count_matching(&r, "[子进程2]PPID=*,PID=*"), 1);
    assert_string_equal(r.lines[2], "[子进程1]小明，今晚撸串不？");
    assert_string_equal(r.lines[3], "[子进程2]不去，我今天约了妹子");
    long long ppid[2] = {0, 0}, pid[2] = {0, 0};
    for (int i = 0; i < 2; i++)
        assert_int_equal(
            sscanf(strchr(r.lines[i], ']') + 1, "PPID=%lld,PID=%lld", &ppid[i], &pid[i]), 2);
    assert_true(ppid[0] > 0 && ppid[0] == ppid[1]);
    assert_true(pid[0] != pid[1] && pid[0] != ppid[0] && pid[1] != ppid[1]);
    free_result(&r);
}

static void s003_set_start_method(void **state)
{
    (void)state;
    run_result r = run_example("s003_set_start_method");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "hello");
    free_result(&r);
}

static void s003_get_context(void **state)
{
    (void)state;
    run_result r = run_example("s003_get_context");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "hello");
    free_result(&r);
}

/* Seed 000's Pipe both ways: the parent prints the child's greeting first; then the child
 * prints the answer, and the parent its line of "=", in either order. */
static void s000_pipe(void **state)
{
    (void)state;
    run_result r = run_example("s000_pipe");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 3);
    assert_string_equal(r.lines[0], "你好主进程, the data is 100");
    assert_int_equal(count_matching(&r, "你好子进程"), 1);
    assert_int_equal(count_matching(&r, "======================================"), 1);
    free_result(&r);
}

/* The consumer prints the five works in order, then sees the end (EOFError) once every
 * copy of the producer's end is closed. */
static void s000_pipe_producer_consumer(void **state)
{
    (void)state;
    run_result r = run_example("s000_pipe_producer_consumer");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "process pipe work is doing：0", "process pipe work is doing：1",
                 "process pipe work is doing：2", "process pipe work is doing：3",
                 "process pipe work is doing：4", "===============");
    free_result(&r);
}

static void s002_pipe(void **state)
{
    (void)state;
    run_result r = run_example("s002_pipe");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "['hello']");
    free_result(&r);
}

/* Pipe(): the parent prints the child's message, then the child the parent's answer. */
static void s003_pipe_duplex(void **state)
{
    (void)state;
    run_result r = run_example("s003_pipe_duplex");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "[子进程]老爸，老妈回来记得喊我一下～",
                 "[父进程]滚犊子，赶紧写作业，不然我得跪方便面！");
    free_result(&r);
}

/* Pipe(duplex=False): the parent reads what the child wrote. */
static void s003_pipe_simplex(void **state)
{
    (void)state;
    run_result r = run_example("s003_pipe_simplex");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "[子进程]老爸，咱们完了，老妈一直在门口～");
    free_result(&r);
}

/* ---- Pools ---------------------------------------------------------------------------- */

/* The number that follows `marker` in line, or -1. (Wine's msvcrt sscanf fails to match
 * some of these Chinese formats after a conversion, so the lines are not parsed with it.) */
static long long number_after(const char *line, const char *marker)
{
    const char *at = strstr(line, marker);
    if (!at)
        return -1;
    char *end;
    long long n = strtoll(at + strlen(marker), &end, 10);
    return end == at + strlen(marker) ? -1 : n;
}

/* Seed 000's pool output: "主进程:<pid>, 父进程:…" first, then for each of the tasks 100, 200
 * and 300 a "测试多进程任务" line and a "多进程任务结束" line, from one worker, never the main
 * process, whose parent is the main process; the last line is the user_time. Returns the
 * main pid. */
static long long check_pool_tasks(const run_result *r, size_t lines)
{
    assert_int_equal(r->count, lines);
    check_three_children(r, false);
    long long main_pid = number_after(r->lines[0], "主进程:");
    for (int data = 100; data <= 300; data += 100) {
        long long started = 0, ended = 0;
        for (size_t i = 0; i < r->count; i++) {
            if (number_after(r->lines[i], "测试多进程任务：") == data)
                started = number_after(r->lines[i], "当前进程号：");
            if (number_after(r->lines[i], "多进程任务结束：") == data)
                ended = number_after(r->lines[i], "当前进程号为: ");
        }
        assert_true(started > 0 && started != main_pid);
        assert_int_equal(started, ended);
    }
    assert_true(matches("user_time: * ", r->lines[r->count - 1]));
    return main_pid;
}

/* apply waits for each task: 100, then 200, then 300. */
static void s000_pool_apply(void **state)
{
    (void)state;
    run_result r = run_example("s000_pool_apply");
    expect_clean_exit(&r);
    check_pool_tasks(&r, 8);
    EXPECT_IN_ORDER(&r, "测试多进程任务：100, *", "多进程任务结束：100, *",
                    "测试多进程任务：200, *", "多进程任务结束：200, *", "测试多进程任务：300, *",
                    "多进程任务结束：300, *");
    free_result(&r);
}

/* The three tasks run side by side; join waits for all of them before user_time. */
static void s000_pool_apply_async(void **state)
{
    (void)state;
    run_result r = run_example("s000_pool_apply_async");
    expect_clean_exit(&r);
    check_pool_tasks(&r, 8);
    free_result(&r);
}

static void s000_pool_map(void **state)
{
    (void)state;
    run_result r = run_example("s000_pool_map");
    expect_clean_exit(&r);
    check_pool_tasks(&r, 8);
    free_result(&r);
}

/* get() gives each call's data**3, in the order of the calls. */
static void s000_pool_async_get(void **state)
{
    (void)state;
    run_result r = run_example("s000_pool_async_get");
    expect_clean_exit(&r);
    check_pool_tasks(&r, 11);
    assert_string_equal(r.lines[7], "1000000");
    assert_string_equal(r.lines[8], "8000000");
    assert_string_equal(r.lines[9], "27000000");
    free_result(&r);
}

/* map's results are in the order of the items. */
static void s000_pool_map_results(void **state)
{
    (void)state;
    run_result r = run_example("s000_pool_map_results");
    expect_clean_exit(&r);
    check_pool_tasks(&r, 9);
    assert_string_equal(r.lines[7], "[1000000, 8000000, 27000000]");
    free_result(&r);
}

/* Each callback gets its task's value after the task ended, and runs in the main process;
 * every callback has run by the time join returns (as Python's join waits for its result
 * handler), so the three get() values come after all of them. */
static void s000_pool_callback(void **state)
{
    (void)state;
    run_result r = run_example("s000_pool_callback");
    expect_clean_exit(&r);
    long long main_pid = check_pool_tasks(&r, 17);
    static const char *const cubes[] = {"1000000", "8000000", "27000000"};
    for (int i = 0; i < 3; i++) {
        char ended[64], called[64];
        snprintf(ended, sizeof ended, "多进程任务结束：%d, *", (i + 1) * 100);
        snprintf(called, sizeof called, "----------- the data is %s", cubes[i]);
        assert_int_equal(count_matching(&r, called), 1);
        EXPECT_IN_ORDER(&r, ended, called);
        assert_string_equal(r.lines[13 + i], cubes[i]);
    }
    char in_main[64];
    snprintf(in_main, sizeof in_main, "当前进程号为: %lld", main_pid);
    assert_int_equal(count_matching(&r, in_main), 3);
    EXPECT_IN_ORDER(&r, "----------- the data is *", in_main); /* each callback's second line */
    free_result(&r);
}

/* get() after each call runs the eight tasks in order; each names a worker of the three,
 * named after the default start method. */
static void s002_pool_apply_async(void **state)
{
    (void)state;
    run_result r = run_example("s002_pool_apply_async");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 16);
    const char *prefix = harness_is_windows() ? "process name: SpawnPoolWorker-"
                                              : "process name: ForkServerPoolWorker-";
    for (int i = 0; i < 8; i++) {
        char hello[32];
        snprintf(hello, sizeof hello, "hello world %d", i);
        assert_string_equal(r.lines[2 * i], hello);
        const char *name = r.lines[2 * i + 1];
        if (strncmp(name, prefix, strlen(prefix)) != 0)
            fail_msg("line %d is \"%s\", wanted \"%s<N>\"", 2 * i + 2, name, prefix);
        int n = 0;
        char extra;
        assert_int_equal(sscanf(name + strlen(prefix), "%d%c", &n, &extra), 1);
        assert_true(n >= 1 && n <= 3);
    }
    free_result(&r);
}

static void s002_pool_map(void **state)
{
    (void)state;
    run_result r = run_example("s002_pool_map");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "['http://www.baidu.com', 'http://www.jd.com']");
    free_result(&r);
}

/* Seed 002's dummy module: the same program on a process pool and a thread pool, the
 * results equal, the tasks in other processes for the first and in this one for the second. */
static void s002_dummy(void **state)
{
    (void)state;
    run_result r = run_example("s002_dummy");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "processes: ['http://www.baidu.com', 'http://www.jd.com']",
                 "processes: item 0 ran in another process",
                 "processes: item 1 ran in another process",
                 "threads: ['http://www.baidu.com', 'http://www.jd.com']",
                 "threads: item 0 ran in this process", "threads: item 1 ran in this process");
    free_result(&r);
}

/* The parent line, then "[子进程…" lines of name, pid and parent pid: returns the parent pid. */
static long long parent_pid_of(const run_result *r)
{
    assert_true(r->count > 0);
    long long pid = number_after(r->lines[0], "[父进程]PID=");
    assert_true(pid > 0);
    return pid;
}

/* Ten tasks, each once, in the main process's five workers at most; "over" after them. */
static void s003_pool(void **state)
{
    (void)state;
    run_result r = run_example("s003_pool");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 12);
    long long main_pid = parent_pid_of(&r);
    long long workers[10];
    size_t nworkers = 0;
    for (int i = 0; i < 10; i++) {
        char pattern[64];
        snprintf(pattern, sizeof pattern, "[子进程-%d]PID=*，PPID=%lld", i, main_pid);
        assert_int_equal(count_matching(&r, pattern), 1);
    }
    for (size_t i = 1; i < 11; i++) {
        long long pid = number_after(r.lines[i], "]PID=");
        assert_true(pid > 0 && pid != main_pid);
        size_t k = 0;
        while (k < nworkers && workers[k] != pid)
            k++;
        if (k == nworkers)
            workers[nworkers++] = pid;
    }
    assert_true(nworkers >= 1 && nworkers <= 5);
    assert_string_equal(r.lines[11], "over");
    free_result(&r);
}

/* Tasks 0-2 succeed and their callback prints their number; 3 and 4 fail and their
 * error_callback prints the task's text; all that before "over". */
static void s003_pool_callbacks(void **state)
{
    (void)state;
    run_result r = run_example("s003_pool_callbacks");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 12);
    long long main_pid = parent_pid_of(&r);
    for (int i = 0; i < 5; i++) {
        char started[64], outcome[64];
        snprintf(started, sizeof started, "[子进程%d]PID=*，PPID=%lld", i, main_pid);
        snprintf(outcome, sizeof outcome, i > 2 ? "[子进程%d]啊，我挂了～" : "[子进程%d]执行完毕",
                 i);
        assert_int_equal(count_matching(&r, started), 1);
        assert_int_equal(count_matching(&r, outcome), 1);
        EXPECT_IN_ORDER(&r, started, outcome);
    }
    assert_string_equal(r.lines[11], "over");
    free_result(&r);
}

/* get(timeout) on a task that takes longer times out. */
static void s003_pool_timeout(void **state)
{
    (void)state;
    run_result r = run_example("s003_pool_timeout");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "<mproc_async object at 0x*>", "超时了～ MPROC_ETIMEDOUT");
    free_result(&r);
}

/* apply_async's get, map's list in order, and imap after its first result, in order. */
static void s003_pool_map_imap(void **state)
{
    (void)state;
    run_result r = run_example("s003_pool_map_imap");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "100", "[0, 1, 4, 9, 16, 25, 36, 49, 64, 81]", "<mproc_iter object at 0x*>",
                 "1 4 9 16 25 36 49 64 81 ");
    free_result(&r);
}

/* The two tasks talk through the pipe: the question is printed first, then the answer. */
static void s003_pool_pipe(void **state)
{
    (void)state;
    run_result r = run_example("s003_pool_pipe");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "[小明]小张，今天哥们要见一女孩，你陪我呗，我24h等你回复哦～",
                 "[小张]不去，万一被我帅气的外表迷倒就坑了～");
    free_result(&r);
}

/* Seed 003's two pool tasks talking through a queue: the parent's line, the two tasks'
 * lines (in either order, in two different workers of the main process), then child 2
 * prints the question and child 1, retrying, the answer. */
static void check_queue_tasks(const char *name)
{
    run_result r = run_example(name);
    expect_clean_exit(&r);
    assert_int_equal(r.count, 5);
    assert_true(matches("[父进程]PPID=*,PID=*", r.lines[0]));
    long long main_pid = number_after(r.lines[0], ",PID=");
    assert_true(main_pid > 0);
    long long pids[2] = {0, 0};
    for (int i = 0; i < 2; i++) {
        char who[32];
        snprintf(who, sizeof who, "[子进程%d]PPID=*,PID=*", i + 1);
        assert_int_equal(count_matching(&r, who), 1);
        const char *line = matches(who, r.lines[1]) ? r.lines[1] : r.lines[2];
        assert_true(matches(who, line));
        assert_int_equal(number_after(line, "]PPID="), main_pid);
        pids[i] = number_after(line, ",PID=");
        assert_true(pids[i] > 0 && pids[i] != main_pid);
    }
    assert_true(pids[0] != pids[1]);
    assert_string_equal(r.lines[3], "[子进程1]小明，今晚撸串不？");
    assert_string_equal(r.lines[4], "[子进程2]不去，我今天约了妹子");
    free_result(&r);
}

static void s003_pool_queue_arg(void **state)
{
    (void)state;
    check_queue_tasks("s003_pool_queue_arg");
}

/* Where there is no fork (Windows), the program says so and ends. */
static void s003_pool_fork_global(void **state)
{
    (void)state;
    if (harness_is_windows()) {
        run_result r = run_example("s003_pool_fork_global");
        expect_clean_exit(&r);
        EXPECT_EXACT(&r, "no fork on this platform: pool workers cannot inherit a global queue "
                         "(see s003_pool_initializer)");
        free_result(&r);
        return;
    }
    check_queue_tasks("s003_pool_fork_global");
}

static void s003_pool_initializer(void **state)
{
    (void)state;
    check_queue_tasks("s003_pool_initializer");
}

/* ---- Executors and futures ------------------------------------------------------------ */

/* Seed 000's ProcessPoolExecutor: the three tasks as in the Pool examples; result() of each
 * future, in the order of the submits, each after its task's end. */
static void s000_executor(void **state)
{
    (void)state;
    run_result r = run_example("s000_executor");
    expect_clean_exit(&r);
    check_pool_tasks(&r, 11);
    static const char *const cubes[] = {"1000000", "8000000", "27000000"};
    for (int i = 0; i < 3; i++) {
        char ended[64];
        snprintf(ended, sizeof ended, "多进程任务结束：%d, *", (i + 1) * 100);
        assert_int_equal(count_matching(&r, cubes[i]), 1);
        EXPECT_IN_ORDER(&r, ended, cubes[i]);
    }
    EXPECT_IN_ORDER(&r, cubes[0], cubes[1], cubes[2], "user_time: * ");
    free_result(&r);
}

/* Task.WhenAll: all three done, the pages in the order of the urls. */
static void s003_when_all(void **state)
{
    (void)state;
    run_result r = run_example("s003_when_all");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "Task.WhenAll: 3 of 3 tasks done",
                 "['<html>http://www.baidu.com</html>', '<html>http://www.jd.com</html>', "
                 "'<html>https://www.cnblogs.com</html>']");
    free_result(&r);
}

/* Task.WhenAny: the one API that answers before the others are let go comes first. */
static void s003_when_any(void **state)
{
    (void)state;
    run_result r = run_example("s003_when_any");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "Task.WhenAny: https://icanhazip.com answered first: 203.0.113.11",
                 "the other 2 answers are ignored");
    free_result(&r);
}

/* CancelAfter: the token's deadline comes before the work's end, so the task is cancelled
 * ("false"); without it the work ends ("ok"). */
static void s003_cancel_timeout(void **state)
{
    (void)state;
    run_result r = run_example("s003_cancel_timeout");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "CancelAfter(100 ms), work of 300 ms: false",
                 "  IsCancellationRequested: True", "no CancelAfter, work of 50 ms: ok",
                 "  IsCancellationRequested: False");
    free_result(&r);
}

/* ---- Managers ------------------------------------------------------------------------- */

/* Seed 000's Manager dict: the three children as in s000_multi, then the dict: count 10
 * less one per child, and each child's data**3 under its data, in the order the children
 * stored them (any). */
static void s000_manager_dict(void **state)
{
    (void)state;
    run_result r = run_example("s000_manager_dict");
    expect_clean_exit(&r);
    assert_int_equal(r.count, 8);
    check_three_children(&r, false);
    static const char *const entries[] = {"100: 1000000", "200: 8000000", "300: 27000000"};
    static const int orders[6][3] = {{0, 1, 2}, {0, 2, 1}, {1, 0, 2},
                                     {1, 2, 0}, {2, 0, 1}, {2, 1, 0}};
    int found = 0;
    for (int i = 0; i < 6; i++) {
        char want[128];
        snprintf(want, sizeof want, "{'count': 7, %s, %s, %s}", entries[orders[i][0]],
                 entries[orders[i][1]], entries[orders[i][2]]);
        found += strcmp(r.lines[7], want) == 0;
    }
    if (found != 1)
        fail_msg("line 8 is \"%s\", wanted {'count': 7, 100: 1000000, 200: 8000000, "
                 "300: 27000000} in some order",
                 r.lines[7]);
    free_result(&r);
}

/* Seed 002's manager objects: a Namespace, a list, a Value and an Event, changed by a
 * child and seen by the main process. */
static void s002_manager_objects(void **state)
{
    (void)state;
    run_result r = run_example("s002_manager_objects");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "子进程: 小明 18", "主进程等到了子进程: True",
                 "Namespace(age=19, name='小明')", "['主进程', '子进程']", "Value('i', 10)");
    free_result(&r);
}

/* Seed 003's Manager().Queue() in pool tasks: the same talk as s003_pool_queue_arg. */
static void s003_manager_queue_pool(void **state)
{
    (void)state;
    check_queue_tasks("s003_manager_queue_pool");
}

/* Seed 003's Manager dict and list: test1 (done first) changes them, test2 prints them. */
static void s003_manager_dict_list(void **state)
{
    (void)state;
    run_result r = run_example("s003_manager_dict_list");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "{1: '1', '2': 2, 0.25: None}", "[9, 8, 7, 6, 5, 4, 3, 2, 1, 0]");
    free_result(&r);
}

/* Seed 003's dict1["year"] += 1 under a Lock, 5 x 100 times: 2500; then 5 x 100 of
 * mproc_mdict_add_i64, no lock: 3000. */
static void s003_manager_counter(void **state)
{
    (void)state;
    run_result r = run_example("s003_manager_counter");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "{'year': 2500}", "{'year': 3000}");
    free_result(&r);
}

/* Seed 003 §1.7's BaseManager server and two clients: client 2 prints 小张's message, then
 * client 1 小明's answer. */
static void s003_distributed(void **state)
{
    (void)state;
    run_result r = run_example("s003_distributed");
    expect_clean_exit(&r);
    EXPECT_EXACT(&r, "[小张]小明，老大明天是不是去外地办事啊？",
                 "[小明]这几天咱们终于可以不加班了(>_<)");
    free_result(&r);
}

/* examples.txt: made by tests/meson.build from example_names (examples/meson.build). */
#define HARNESS_CASES "examples.txt"
#include "harness_main.h"
