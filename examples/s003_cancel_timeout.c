/* Seed 003, NetCore并发编程, 1.异步编程（Task）, "3.超时取消": a CancellationTokenSource that
 * cancels itself after a time (cts.CancelAfter), passed to a long operation; when it fires
 * the operation ends with TaskCanceledException and the method returns "false":
 *
 *     var cts = new CancellationTokenSource();
 *     cts.CancelAfter(TimeSpan.FromSeconds(3)); // 设置失效时间为3s
 *     try { return await DoSomethingAsync(cts.Token); }         // Task.Delay(5 s, token)
 *     catch (TaskCanceledException ex) { return "false"; }
 *
 * Here the token is an mproc_cancel created with a deadline (mproc_cancel_create(&c, ms)),
 * the operation a task in a worker process of an executor that gets the token in its
 * arguments and polls it between 10 ms steps of its work, and TaskCanceledException the
 * task failing with that text (MPROC_ETASK). What differs: 3 s and 5 s are 100 ms and
 * 300 ms. The deadline is set in the parent before the task starts, so a task that works
 * 300 ms from its start always sees it: the output does not depend on timing. A second
 * call without CancelAfter runs 50 ms of work to its end and gives "ok". */
#include "example.h"

/* (token, work_ms): "ok" after the work, or fails with TaskCanceledException. */
MPROC_TASK_ARGS(do_something, out, mproc_cancel *, token, int64_t, work_ms)
{
    for (int64_t step = 0; step < work_ms / 10 && mproc_cancel_requested(token) != 1; step++)
        sleep_ms(10);
    int cancelled = mproc_cancel_requested(token) == 1; /* token.ThrowIfCancellationRequested */
    mproc_cancel_destroy(token);
    if (cancelled)
        return mproc_task_fail(out, "TaskCanceledException");
    return MPROC_PACK(out, "ok") != 0;
}

/* CancellMethod: cancel_after_ms MPROC_FOREVER is a token without CancelAfter. Prints what
 * it returns and whether the token was cancelled; 0, or an error code. */
static int cancell_method(mproc_executor *ex, int64_t cancel_after_ms, int64_t work_ms)
{
    mproc_cancel *cts;
    mproc_future *f;
    mproc_bytes r = {0};
    const char *returned = NULL;
    int rc = mproc_cancel_create(&cts, cancel_after_ms);
    if (rc != 0 ||
        (rc = mproc_executor_submit(ex, "do_something", MPROC_ARGS(cts, work_ms), &f)) != 0)
        return rc;
    rc = mproc_future_result(f, 60000, &r);
    if (rc == 0 && MPROC_UNPACK(&r, &returned) != 0) /* return await DoSomethingAsync() */
        rc = MPROC_EPROTO;
    else if (rc == MPROC_ETASK && r.data && strcmp(r.data, "TaskCanceledException") == 0)
        returned = "false"; /* catch (TaskCanceledException) */
    if (returned) {
        if (cancel_after_ms == MPROC_FOREVER)
            printf("no CancelAfter, work of %lld ms: %s\n", (long long)work_ms, returned);
        else
            printf("CancelAfter(%lld ms), work of %lld ms: %s\n", (long long)cancel_after_ms,
                   (long long)work_ms, returned);
        printf("  IsCancellationRequested: %s\n",
               mproc_cancel_requested(cts) == 1 ? "True" : "False");
        rc = 0;
    }
    mproc_bytes_free(&r);
    mproc_future_destroy(f);
    mproc_cancel_destroy(cts);
    return rc;
}

int main(int argc, char **argv)
{
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_executor *ex;
    int rc = mproc_executor_create(&ex, &(mproc_executor_opts){.max_workers = 1});
    if (rc == 0)
        rc = cancell_method(ex, 100, 300);
    if (rc == 0)
        rc = cancell_method(ex, MPROC_FOREVER, 50);
    if (rc != 0)
        fprintf(stderr, "%s\n", mproc_strerror(rc));
    mproc_executor_destroy(ex);
    return rc != 0;
}
