#!/usr/bin/env python3
"""Doxygen's INPUT_FILTER for the public headers (doc/manual/Doxyfile.in).

The headers keep plain C comments; this turns them into what Doxygen reads, so the manual
shows exactly the headers' text:
  * the file's first comment becomes its page (@file);
  * a comment right above a declaration (no blank line between) documents it, a comment
    after code on its line documents that member (/**<);
  * indented example lines in a comment become a code block;
  * each function gets its Python counterpart (python_name below) as a "Python" paragraph.
"""
import re
import sys

DECL = re.compile(r'^(?:MPROC_API\b.*?|static inline\b.*?)\b(mproc_\w+)\s*\(')

# Python's name for a C call, by its prefix: (C prefix, Python object).
OBJECTS = [
    ('mproc_process_', 'multiprocessing.Process'), ('mproc_context_', 'multiprocessing.get_context'),
    ('mproc_simplequeue_', 'multiprocessing.SimpleQueue'), ('mproc_queue_', 'multiprocessing.Queue'),
    ('mproc_conn_', 'multiprocessing.connection.Connection'), ('mproc_rlock_', 'multiprocessing.RLock'),
    ('mproc_lock_', 'multiprocessing.Lock'), ('mproc_sem_', 'multiprocessing.Semaphore'),
    ('mproc_cond_', 'multiprocessing.Condition'), ('mproc_event_', 'multiprocessing.Event'),
    ('mproc_barrier_', 'multiprocessing.Barrier'), ('mproc_value_', 'multiprocessing.Value'),
    ('mproc_array_', 'multiprocessing.Array'), ('mproc_shm_', 'multiprocessing.shared_memory.SharedMemory'),
    ('mproc_threadpool_', 'multiprocessing.pool.ThreadPool'), ('mproc_pool_', 'multiprocessing.pool.Pool'),
    ('mproc_async_', 'multiprocessing.pool.AsyncResult'), ('mproc_iter_', 'multiprocessing.pool.IMapIterator'),
    ('mproc_executor_', 'concurrent.futures.Executor'), ('mproc_future_', 'concurrent.futures.Future'),
    ('mproc_as_completed_', 'concurrent.futures.as_completed'),
    ('mproc_manager_', 'multiprocessing.managers.BaseManager'), ('mproc_mdict_', 'DictProxy'),
    ('mproc_mlist_', 'ListProxy'), ('mproc_mns_', 'NamespaceProxy'), ('mproc_mqueue_', 'Queue proxy'),
    ('mproc_mlock_', 'AcquirerProxy (Lock)'), ('mproc_msem_', 'AcquirerProxy (Semaphore)'),
    ('mproc_mevent_', 'EventProxy'), ('mproc_mcond_', 'ConditionProxy'), ('mproc_mbarrier_', 'BarrierProxy'),
    ('mproc_mvalue_', 'ValueProxy'), ('mproc_marray_', 'ArrayProxy'), ('mproc_popen_', 'subprocess.Popen'),
]
VERBS = {'create': '()', 'destroy': '.close()', 'start_new': '(...).start()'}
EXACT = {
    'mproc_init': 'the `if __name__ == "__main__":` guard, freeze_support()',
    'mproc_task_register': 'a target function, found by name in every child',
    'mproc_task_fail': 'raising an exception in a task', 'mproc_pipe': 'multiprocessing.Pipe(duplex)',
    'mproc_run': 'subprocess.run()', 'mproc_wait': 'concurrent.futures.wait()',
    'mproc_getpid': 'os.getpid()', 'mproc_getppid': 'os.getppid()',
    'mproc_cpu_count': 'multiprocessing.cpu_count()', 'mproc_cpu_count_usable': 'os.process_cpu_count()',
    'mproc_current_name': 'multiprocessing.current_process().name',
    'mproc_parent_name': 'multiprocessing.parent_process().name',
    'mproc_active_children': 'multiprocessing.active_children()',
    'mproc_set_start_method': 'multiprocessing.set_start_method()',
    'mproc_get_start_method': 'multiprocessing.get_start_method()',
    'mproc_log_to_stderr': 'multiprocessing.log_to_stderr(level)', 'mproc_log': 'multiprocessing.get_logger().log()',
    'mproc_strerror': 'str(exception)', 'mproc_errname': 'type(exception).__name__',
    'mproc_threadpool_create': 'multiprocessing.pool.ThreadPool()',
    'mproc_simplequeue_create': 'multiprocessing.SimpleQueue()',
    'mproc_queue_create_joinable': 'multiprocessing.JoinableQueue(maxsize)',
    'mproc_sem_create_bounded': 'multiprocessing.BoundedSemaphore(value)',
    'mproc_rlock_create': 'multiprocessing.RLock()',
    'mproc_manager_start': 'multiprocessing.Manager()',
    'mproc_manager_serve': 'BaseManager(address, authkey).get_server()',
    'mproc_manager_wait': 'Server.serve_forever()',
    'mproc_queue_create': 'multiprocessing.Queue(maxsize)', 'mproc_queue_create_opts': 'multiprocessing.Queue(maxsize)',
    'mproc_process_create': 'multiprocessing.Process(target, args, name, daemon)',
    'mproc_process_run': 'p.start(); p.join(timeout); p.exitcode',
    'mproc_manager_connect': 'BaseManager(address, authkey).connect()',
    'mproc_manager_register': 'BaseManager.register(typeid, callable)',
    'mproc_manager_shutdown': 'BaseManager.shutdown()', 'mproc_manager_address': 'BaseManager.address',
    'mproc_manager_destroy': 'with Manager() as m: (its end)',
}
C_ONLY = ('mproc_pack', 'mproc_unpack', 'mproc_bytes_', 'mproc_malloc', 'mproc_calloc', 'mproc_realloc',
          'mproc_free', 'mproc_strdup', 'mproc_arg_', 'mproc_version', 'mproc_last_os_error',
          'mproc_cancel_', 'mproc_task_lookup', 'mproc_proxy_')


# The methods Python really has, per object: a C call whose verb is not here gets no
# Python paragraph (it is C's own, e.g. the typed getters).
REAL = {
    'multiprocessing.Process': {'start', 'join', 'is_alive', 'terminate', 'kill', 'exitcode',
                                'pid', 'name', 'daemon'},
    'multiprocessing.connection.Connection': {'send', 'recv', 'poll', 'close', 'readable',
                                              'writable'},
    'multiprocessing.Queue': {'put', 'get', 'qsize', 'empty', 'full', 'close', 'task_done', 'join'},
    'multiprocessing.SimpleQueue': {'put', 'get', 'empty'},
    'multiprocessing.Lock': {'acquire', 'release'}, 'multiprocessing.RLock': {'acquire', 'release'},
    'multiprocessing.Semaphore': {'acquire', 'release', 'get_value'},
    'multiprocessing.Condition': {'acquire', 'release', 'wait', 'wait_for', 'notify', 'notify_all'},
    'multiprocessing.Event': {'set', 'clear', 'is_set', 'wait'},
    'multiprocessing.Barrier': {'wait', 'abort', 'reset', 'parties', 'n_waiting', 'broken'},
    'multiprocessing.shared_memory.SharedMemory': {'buf', 'size', 'name', 'unlink', 'close'},
    'multiprocessing.pool.Pool': {'apply', 'apply_async', 'map', 'map_async', 'starmap',
                                  'starmap_async', 'imap', 'imap_unordered', 'close',
                                  'terminate', 'join'},
    'multiprocessing.pool.AsyncResult': {'wait', 'ready', 'successful', 'get'},
    'multiprocessing.pool.IMapIterator': {'next'},
    'concurrent.futures.Executor': {'submit', 'map', 'shutdown'},
    'concurrent.futures.Future': {'result', 'done', 'cancel', 'cancelled', 'add_done_callback'},
    'subprocess.Popen': {'communicate', 'poll', 'wait', 'terminate', 'kill', 'pid', 'returncode'},
    'DictProxy': {'get', 'keys', 'items', 'update', 'clear', 'setdefault', 'pop'},
    'ListProxy': {'append', 'extend', 'pop', 'reverse'},
    'Queue proxy': {'put', 'get', 'qsize', 'empty', 'full', 'task_done', 'join'},
    'AcquirerProxy (Lock)': {'acquire', 'release'}, 'AcquirerProxy (Semaphore)': {'acquire', 'release'},
    'EventProxy': {'set', 'clear', 'is_set', 'wait'},
    'ConditionProxy': {'acquire', 'release', 'wait', 'notify', 'notify_all'},
    'BarrierProxy': {'wait', 'abort', 'reset', 'parties', 'n_waiting', 'broken'},
}
ALIASES = {'put_pack': 'put', 'send_pack': 'send', 'data': 'buf', 'value': 'get_value'}
MANAGER_OBJECTS = {'dict': 'dict', 'list': 'list', 'namespace': 'Namespace', 'queue': 'Queue',
                   'joinable_queue': 'JoinableQueue', 'lock': 'Lock', 'rlock': 'RLock',
                   'semaphore': 'Semaphore', 'bounded_semaphore': 'BoundedSemaphore',
                   'event': 'Event', 'condition': 'Condition', 'barrier': 'Barrier',
                   'value': 'Value', 'array': 'Array'}
EXACT.update({
    'mproc_mdict_set': 'd[key] = value', 'mproc_mdict_get': 'd[key]', 'mproc_mdict_del': 'del d[key]',
    'mproc_mdict_contains': 'key in d', 'mproc_mdict_len': 'len(d)', 'mproc_mlist_get': 'l[i]',
    'mproc_mlist_set': 'l[i] = value', 'mproc_mlist_len': 'len(l)', 'mproc_mlist_slice': 'l[start:stop]',
    'mproc_mns_set': 'ns.name = value', 'mproc_mns_get': 'ns.name', 'mproc_mns_del': 'del ns.name',
    'mproc_mdict_add_i64': 'd[key] += n', 'mproc_mvalue_get_i64': 'v.value', 'mproc_mvalue_get_f64': 'v.value',
    'mproc_mvalue_set_i64': 'v.value = x', 'mproc_mvalue_set_f64': 'v.value = x',
    'mproc_mvalue_add_i64': 'v.value += n', 'mproc_marray_len': 'len(a)', 'mproc_marray_get_i64': 'a[i]',
    'mproc_marray_get_f64': 'a[i]', 'mproc_marray_set_i64': 'a[i] = x', 'mproc_marray_set_f64': 'a[i] = x',
    'mproc_value_create': 'multiprocessing.Value(typecode, lock=...)',
    'mproc_array_create': 'multiprocessing.Array(typecode, size, lock=...)',
    'mproc_value_get_i64': 'v.value', 'mproc_value_get_f64': 'v.value', 'mproc_value_set_i64': 'v.value = x',
    'mproc_value_set_f64': 'v.value = x', 'mproc_value_add_i64': 'with v.get_lock(): v.value += n',
    'mproc_value_add_f64': 'with v.get_lock(): v.value += x', 'mproc_value_lock': 'v.get_lock()',
    'mproc_array_get_i64': 'a[i]', 'mproc_array_get_f64': 'a[i]', 'mproc_array_set_i64': 'a[i] = x',
    'mproc_array_set_f64': 'a[i] = x', 'mproc_array_add_i64': 'with a.get_lock(): a[i] += n',
    'mproc_array_add_f64': 'with a.get_lock(): a[i] += x', 'mproc_array_read': 'a[start:start + n]',
    'mproc_array_write': 'a[start:start + n] = values', 'mproc_array_length': 'len(a)',
    'mproc_array_lock': 'a.get_lock()', 'mproc_array_data': 'a.get_obj()', 'mproc_value_data': 'v.get_obj()',
    'mproc_shm_create': 'SharedMemory(name, create=True, size=size)', 'mproc_shm_open': 'SharedMemory(name)',
    'mproc_lock_locked': 'Lock.locked() (threading), lock._semlock._is_mine()',
    'mproc_conn_wait': 'multiprocessing.connection.wait(objects, timeout)',
    'mproc_conn_destroy': 'Connection.close()', 'mproc_process_destroy': 'Process.close()',
    'mproc_pool_destroy': 'with Pool() as pool: (its end: terminate)', 'mproc_executor_destroy': 'with Executor() as ex: (its end)',
    'mproc_popen_start': 'subprocess.Popen(args, stdin, stdout, stderr, ...)',
    'mproc_popen_write': 'p.stdin.write()', 'mproc_popen_read': 'p.stdout.read()',
    'mproc_popen_close_stream': 'p.stdin.close()', 'mproc_run_check_returncode': 'CompletedProcess.check_returncode()',
    'mproc_context_get': 'multiprocessing.get_context(method)', 'mproc_executor_create': 'ProcessPoolExecutor() / ThreadPoolExecutor()',
    'mproc_pool_create': 'multiprocessing.Pool(processes, initializer, initargs, maxtasksperchild)',
    'mproc_as_completed_create': 'concurrent.futures.as_completed(fs)', 'mproc_as_completed_next': 'next(iterator)',
    'mproc_iter_next': 'next(iterator, timeout)', 'mproc_manager_pid': 'manager._process.pid',
    'mproc_log_level': 'get_logger().getEffectiveLevel()', 'mproc_proxy_destroy': 'del proxy',
    'mproc_shm_destroy': 'SharedMemory.close()', 'mproc_cond_lock': 'Condition._lock',
    'mproc_type_size': 'ctypes.sizeof(typecode)', 'mproc_start_method_name': None,
    'mproc_start_method_available': "method in get_all_start_methods()",
    'mproc_task_lookup': None,
})


def python_name(name):
    if name in EXACT:
        return EXACT[name]
    if name.startswith(C_ONLY):
        if name.startswith('mproc_unpack_') and name[13:] not in (
                'init', 'peek', 'remaining', 'skip', 'i64', 'f64', 'str', 'strn', 'bytes', 'pack',
                'values'):
            return 'pickling (the object arrives in the child already)'
        return None
    if name.startswith('mproc_manager_'):
        verb = name[len('mproc_manager_'):]
        if verb.startswith('lookup_'):
            return f'manager.get_{verb[7:]}() (a registered typeid)'
        if verb in MANAGER_OBJECTS:
            return f'manager.{MANAGER_OBJECTS[verb]}()'
        return None
    for prefix, obj in OBJECTS:
        if name.startswith(prefix):
            verb = name[len(prefix):]
            if verb in VERBS and obj.startswith(('multiprocessing.', 'concurrent.', 'subprocess.')):
                return f'{obj}{VERBS[verb]}'
            verb = ALIASES.get(verb, verb)
            if verb in REAL.get(obj, ()):
                attribute = verb in ('exitcode', 'pid', 'name', 'daemon', 'parties', 'n_waiting',
                                     'broken', 'buf', 'size', 'returncode', 'readable', 'writable')
                return f'{obj}.{verb}' + ('' if attribute else '()')
            return None
    return None


def convert(text):
    lines = text.split('\n')
    out = []
    first = True
    i = 0
    while i < len(lines):
        line = lines[i]
        start = line.find('/*')
        if start < 0 or line[start:start + 3] == '/**' or line.lstrip().startswith('#'):
            out.append(line)
            i += 1
            continue
        end = i
        while '*/' not in lines[end]:
            end += 1
        block = lines[i:end + 1]
        code_before = line[:start].strip()
        nxt = lines[end + 1] if end + 1 < len(lines) else ''
        if first and not code_before:
            block[0] = line[:start] + '/** @file\n' + ' * ' + line[start + 2:].lstrip()
            first = False
        elif code_before:
            block[0] = line[:start] + '/**<' + line[start + 2:]
        elif nxt.strip() and not nxt.lstrip().startswith(('/*', '#endif', '#if', '}')):
            m = DECL.match(nxt)
            block[0] = line[:start] + '/**' + line[start + 2:]
            if m:
                py = python_name(m.group(1))
                if py:
                    block[-1] = block[-1].replace('*/', f'\n * @par Python\n * `{py}`\n */', 1)
        block = [re.sub(r'-{4,}', '', b) for b in block]
        out += code_blocks(block)
        i = end + 1
    return '\n'.join(out)


def code_blocks(block):
    """Indented lines of a comment (' *   code') become @code ... @endcode."""
    out, inside = [], False
    for b in block:
        is_code = re.match(r'^ \*   ', b) is not None
        if is_code and not inside:
            out.append(' * @code')
            inside = True
        elif not is_code and inside:
            out.append(' * @endcode')
            inside = False
        out.append(b)
    if inside:
        out.insert(len(out) - 1, ' * @endcode')
    return out


if __name__ == '__main__':
    with open(sys.argv[1], encoding='utf-8') as f:
        sys.stdout.write(convert(f.read()))
