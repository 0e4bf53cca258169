/* Seed 002, 进程间对象共享 (objects shared through a Manager): the seed only names them — a
 * Manager controls a server process, and other processes use its objects through proxies:
 * a Namespace, Value/Array, dict/list, and Condition/Event/Lock/Queue/Semaphore. A small
 * program with four of them, in Python:
 *
 *     def worker(ns, l, v, e):
 *         print("子进程:", ns.name, ns.age)
 *         ns.age += 1
 *         l.append("子进程")
 *         v.value += 10
 *         e.set()
 *
 *     with Manager() as m:
 *         ns = m.Namespace(); ns.name = "小明"; ns.age = 18
 *         l = m.list(["主进程"])
 *         v = m.Value("i", 0)
 *         e = m.Event()
 *         p = Process(target=worker, args=(ns, l, v, e)); p.start()
 *         print("主进程等到了子进程:", e.wait(30))
 *         print(ns); print(l); print(v)
 *         p.join()
 *
 * which prints
 *     子进程: 小明 18
 *     主进程等到了子进程: True
 *     Namespace(age=19, name='小明')
 *     ['主进程', '子进程']
 *     Value('i', 10)
 *
 * Namespace fields and list items are packs (MPROC_ARGS): the name and the list items a
 * STR, the age an I64, each read back with MPROC_UNPACK. v.value += 10 is one step on the
 * server (mproc_mvalue_add_i64). */
#include "example.h"

enum { WAIT_MS = 30000 }; /* every wait has a bound */

/* ns.name and ns.age: text (copied to name, cap bytes) and an integer. */
static int get_person(mproc_mns *ns, char *name, size_t cap, int64_t *age)
{
    mproc_bytes b;
    const char *text;
    int rc = mproc_mns_get(ns, "name", &b);
    if (rc == 0) {
        if ((rc = MPROC_UNPACK(&b, &text)) == 0)
            snprintf(name, cap, "%s", text);
        mproc_bytes_free(&b);
    }
    if (rc == 0 && (rc = mproc_mns_get(ns, "age", &b)) == 0) {
        rc = MPROC_UNPACK(&b, age);
        mproc_bytes_free(&b);
    }
    return rc;
}

MPROC_TASK_ARGS(worker, out, mproc_mns *, ns, mproc_mlist *, l, mproc_mvalue *, v, mproc_mevent *,
                e)
{
    char name[64];
    int64_t age = 0;
    int rc;
    if ((rc = get_person(ns, name, sizeof name, &age)) == 0) {
        printf("子进程: %s %lld\n", name, (long long)age);
        rc = mproc_mns_set(ns, "age", MPROC_ARGS(age + 1)); /* ns.age += 1 */
    }
    if (rc == 0)
        rc = mproc_mlist_append(l, MPROC_ARGS("子进程")); /* l.append("子进程") */
    if (rc == 0)
        rc = mproc_mvalue_add_i64(v, 10, NULL); /* v.value += 10 */
    if (rc == 0)
        rc = mproc_mevent_set(e); /* e.set() */
    if (rc != 0)
        fprintf(stderr, "worker: %s\n", mproc_strerror(rc));
    mproc_proxy_destroy(e);
    mproc_proxy_destroy(v);
    mproc_proxy_destroy(l);
    mproc_proxy_destroy(ns);
    return rc == 0 ? 0 : 1;
}

/* print(ns) */
static int print_namespace(mproc_mns *ns)
{
    char name[64];
    int64_t age = 0;
    int rc = get_person(ns, name, sizeof name, &age);
    if (rc == 0)
        printf("Namespace(age=%lld, name='%s')\n", (long long)age, name);
    return rc;
}

/* print(l): its items are text, shown quoted */
static int print_list(mproc_mlist *l)
{
    mproc_bytes all;
    int rc = mproc_mlist_slice(l, 0, INT64_MAX, &all); /* l[:], each item a nested pack */
    if (rc != 0)
        return rc;
    char line[512] = "[";
    size_t n = 1;
    mproc_unpacker u, item;
    mproc_unpack_init(&u, &all);
    while (rc == 0 && n < sizeof line && mproc_unpack_pack(&u, &item) == 0) {
        mproc_bytes b = {(void *)item.data, item.len};
        const char *text;
        if ((rc = MPROC_UNPACK(&b, &text)) == 0)
            n += (size_t)snprintf(line + n, sizeof line - n, "%s'%s'", n > 1 ? ", " : "", text);
    }
    mproc_bytes_free(&all);
    if (rc == 0)
        printf("%s]\n", line);
    return rc;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_manager *m; /* with Manager() as m: */
    int rc = mproc_manager_start(&m, NULL);
    if (rc != 0) {
        fprintf(stderr, "Manager(): %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_mns *ns = NULL;
    mproc_mlist *l = NULL;
    mproc_mvalue *v = NULL;
    mproc_mevent *e = NULL;
    if ((rc = mproc_manager_namespace(m, &ns)) != 0 ||
        (rc = mproc_mns_set(ns, "name", MPROC_ARGS("小明"))) != 0 ||
        (rc = mproc_mns_set(ns, "age", MPROC_ARGS(18))) != 0 ||
        (rc = mproc_manager_list(m, &l)) != 0 ||
        (rc = mproc_mlist_append(l, MPROC_ARGS("主进程"))) != 0 ||
        (rc = mproc_manager_value(m, MPROC_T_INT, &v)) != 0 || /* Value("i", 0) */
        (rc = mproc_manager_event(m, &e)) != 0) {
        fprintf(stderr, "Namespace()/list()/Value()/Event(): %s\n", mproc_strerror(rc));
        return 1;
    }
    mproc_process *p; /* Process(target=worker, args=(ns, l, v, e)) */
    rc = mproc_process_start_new(
        &p, &(mproc_process_opts){.target = "worker", .args = MPROC_ARGS(ns, l, v, e)});
    if (rc != 0) {
        fprintf(stderr, "Process(target=worker).start(): %s\n", mproc_strerror(rc));
        return 1;
    }
    rc = mproc_mevent_wait(e, WAIT_MS); /* e.wait(30) */
    printf("主进程等到了子进程: %s\n", rc == 0 ? "True" : "False");
    int64_t value = 0;
    int failed = rc != 0;
    if ((rc = print_namespace(ns)) != 0 || (rc = print_list(l)) != 0 ||
        (rc = mproc_mvalue_get_i64(v, &value)) != 0) {
        fprintf(stderr, "print: %s\n", mproc_strerror(rc));
        failed = 1;
    } else {
        printf("Value('i', %lld)\n", (long long)value);
    }
    int code = -1;
    if ((rc = mproc_process_join(p, WAIT_MS)) != 0) { /* p.join() */
        fprintf(stderr, "join: %s\n", mproc_strerror(rc));
        mproc_process_terminate(p);
        mproc_process_join(p, WAIT_MS);
    }
    mproc_process_exitcode(p, &code);
    mproc_process_destroy(p);
    failed |= rc != 0 || code != 0;
    mproc_proxy_destroy(e);
    mproc_proxy_destroy(v);
    mproc_proxy_destroy(l);
    mproc_proxy_destroy(ns);
    mproc_manager_destroy(m);
    return failed ? 1 : 0;
}
