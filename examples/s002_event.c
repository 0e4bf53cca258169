/* Seed 002, 同步机制 (synchronization): an Event, used as in threading. Three children wait
 * for it; they all go on once the parent sets it, and not before. */
#include "example.h"

MPROC_TASK_ARGS(worker, out, mproc_event *, event)
{
    printf("%s: waiting for the event\n", mproc_current_name());
    mproc_event_wait(event, MPROC_FOREVER);
    printf("%s: the event is set, going on\n", mproc_current_name());
    mproc_event_destroy(event);
    return 0;
}

int main(int argc, char **argv)
{
    line_buffered_stdout();
    if (mproc_init(&argc, &argv) != 0)
        return 1;
    mproc_event *event;
    if (mproc_event_create(&event) != 0)
        return 1;
    printf("event.is_set() -> %s\n", mproc_event_is_set(event) == 1 ? "True" : "False");
    printf("event.wait(timeout=0.1) -> %s\n", mproc_event_wait(event, 100) == 0 ? "True" : "False");

    mproc_process *p[3];
    for (int i = 0; i < 3; i++)
        if (mproc_process_start_new(
                &p[i], &(mproc_process_opts){.target = "worker", .args = MPROC_ARGS(event)}))
            return 1;

    sleep_ms(200);
    printf("main: setting the event\n");
    mproc_event_set(event);
    for (int i = 0; i < 3; i++) {
        mproc_process_join(p[i], MPROC_FOREVER);
        mproc_process_destroy(p[i]);
    }
    printf("event.is_set() -> %s\n", mproc_event_is_set(event) == 1 ? "True" : "False");
    mproc_event_clear(event);
    printf("after clear(): event.is_set() -> %s\n",
           mproc_event_is_set(event) == 1 ? "True" : "False");
    mproc_event_destroy(event);
    return 0;
}
