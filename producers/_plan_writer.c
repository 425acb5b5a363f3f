/*
 * The SDK's fast path in C: one pass over a touchpoint input dict that checks it and writes
 * its Avro bytes, driven by a plan (nested tuples) that producers/native_plan.py derives from
 * the Avro schema and the pydantic core schema.
 *
 * Why C: the generated Python fast path (producers/fused.py) spends ~5 us an event on some 150
 * interpreted steps and ~40 small bytes objects; here the same checks cost a few hundred
 * nanoseconds and the bytes go straight into one buffer.
 *
 * The contract is the Python fast path's: for any input it either returns exactly what the
 * slow, authoritative path (pydantic + fastavro) returns, or raises the Fallback exception given
 * at construction (or an error a called Python function raised), and the caller takes the slow
 * path. It never vouches for an input by converting it: exact dict/list/str/int/bool/datetime
 * only, as the Python fast path. Nodes (first item the opcode):
 *
 *   (NULLABLE, null_bytes, some_bytes, child)   [null, T] union
 *   (STR, exact, low, high)                     text; lengths in code points, high < 0: none
 *   (INT, low, high)                            exact int within [low, high], zig-zag long
 *   (BOOL,)
 *   (ENUM, table)                               dict value -> encoded bytes
 *   (DATETIME, epoch)                           aware datetime, timestamp-millis
 *   (FUNC, function, table, template, exact)    validator function; table/template: shortcut
 *   (LIST, low, high, child)
 *   (MAP, key_child, value_child)
 *   (RECORD, forbid, fields)                    fields: ((name, child, default bytes|None), ...)
 *   (ROUTE, topics, child)                      child, and the topic from topics[value]
 *   (IDENTIFIERS, caches, miss, low, high, best) packed cache entries (native_plan.pack_entry)
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <datetime.h>
#include <string.h>

enum {
    OP_NULLABLE = 1,
    OP_STR,
    OP_INT,
    OP_BOOL,
    OP_ENUM,
    OP_DATETIME,
    OP_FUNC,
    OP_LIST,
    OP_MAP,
    OP_RECORD,
    OP_ROUTE,
    OP_IDENTIFIERS,
};

/* ------------------------------------------------------------------ output buffer -------- */

typedef struct {
    char *data;
    Py_ssize_t len;
    Py_ssize_t cap;
    char inline_space[2048];
} Buf;

static int buf_reserve(Buf *b, Py_ssize_t extra) {
    if (b->len + extra <= b->cap)
        return 0;
    Py_ssize_t cap = b->cap * 2;
    while (cap < b->len + extra)
        cap *= 2;
    char *data = PyMem_Malloc(cap);
    if (data == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    memcpy(data, b->data, b->len);
    if (b->data != b->inline_space)
        PyMem_Free(b->data);
    b->data = data;
    b->cap = cap;
    return 0;
}

static inline int put(Buf *b, const char *p, Py_ssize_t n) {
    if (buf_reserve(b, n) < 0)
        return -1;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

static inline int put_bytes(Buf *b, PyObject *bytes) {
    return put(b, PyBytes_AS_STRING(bytes), PyBytes_GET_SIZE(bytes));
}

/* An Avro long: zig-zag, then 7 bits a byte, low bits first. */
static inline int put_long(Buf *b, long long value) {
    unsigned long long z = ((unsigned long long)value << 1) ^ (unsigned long long)(value >> 63);
    if (buf_reserve(b, 10) < 0)
        return -1;
    char *p = b->data + b->len;
    while (z >= 0x80) {
        *p++ = (char)((z & 0x7F) | 0x80);
        z >>= 7;
    }
    *p++ = (char)z;
    b->len = p - b->data;
    return 0;
}

static inline int put_text(Buf *b, const char *utf8, Py_ssize_t size) {
    if (put_long(b, size) < 0)
        return -1;
    return put(b, utf8, size);
}

/* ------------------------------------------------------------------ the writer ----------- */

typedef struct {
    PyObject_HEAD
    PyObject *plan;     /* the root node */
    PyObject *header;   /* bytes written before the body (framing) */
    PyObject *fallback; /* the exception class meaning "take the slow path" */
} PlanWriter;

typedef struct {
    PyObject *topic; /* borrowed from the plan's topics dict */
    PyObject *key;   /* owned */
} Routing;

static int fall_back(PlanWriter *w) {
    PyErr_SetNone(w->fallback);
    return -1;
}

#define ITEM(node, i) PyTuple_GET_ITEM((node), (i))

/* The identifier dicts' keys, interned once: PyDict_GetItemString would build each per lookup. */
static PyObject *TYPE_KEY, *VALUE_KEY;

static int write_value(PlanWriter *w, Buf *b, PyObject *node, PyObject *value, Routing *r);

static int write_str(PlanWriter *w, Buf *b, PyObject *node, PyObject *value) {
    int exact = PyObject_IsTrue(ITEM(node, 1));
    if (exact ? !PyUnicode_CheckExact(value) : !PyUnicode_Check(value))
        return fall_back(w);
    if (exact) {
        Py_ssize_t n = PyUnicode_GET_LENGTH(value);
        Py_ssize_t low = PyLong_AsSsize_t(ITEM(node, 2)), high = PyLong_AsSsize_t(ITEM(node, 3));
        if (n < low || (high >= 0 && n > high))
            return fall_back(w);
    }
    Py_ssize_t size;
    const char *utf8 = PyUnicode_AsUTF8AndSize(value, &size); /* a lone surrogate: UnicodeEncodeError */
    if (utf8 == NULL)
        return -1;
    return put_text(b, utf8, size);
}

static int write_int(PlanWriter *w, Buf *b, PyObject *node, PyObject *value) {
    if (!PyLong_CheckExact(value)) /* nor a bool */
        return fall_back(w);
    int overflow = 0;
    long long x = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (overflow || x < PyLong_AsLongLong(ITEM(node, 1)) || x > PyLong_AsLongLong(ITEM(node, 2)))
        return fall_back(w);
    return put_long(b, x);
}

static int write_lookup(PlanWriter *w, Buf *b, PyObject *table, PyObject *value) {
    PyObject *bytes = PyDict_GetItemWithError(table, value);
    if (bytes == NULL)
        return PyErr_Occurred() ? -1 : fall_back(w);
    return put_bytes(b, bytes);
}

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static long long days_from_civil(long long y, unsigned m, unsigned d) {
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (long long)doe - 719468;
}

static int write_datetime(PlanWriter *w, Buf *b, PyObject *node, PyObject *value) {
    if (Py_TYPE(value) != PyDateTimeAPI->DateTimeType)
        return fall_back(w);
    PyObject *tz = PyDateTime_DATE_GET_TZINFO(value);
    long long ms;
    if (tz == PyDateTime_TimeZone_UTC) {
        long long days = days_from_civil(PyDateTime_GET_YEAR(value), PyDateTime_GET_MONTH(value),
                                         PyDateTime_GET_DAY(value));
        ms = days * 86400000LL + PyDateTime_DATE_GET_HOUR(value) * 3600000LL +
             PyDateTime_DATE_GET_MINUTE(value) * 60000LL + PyDateTime_DATE_GET_SECOND(value) * 1000LL +
             PyDateTime_DATE_GET_MICROSECOND(value) / 1000;
    } else {
        if (tz == Py_None)
            return fall_back(w);
        PyObject *offset = PyObject_CallMethod(value, "utcoffset", NULL);
        if (offset == NULL)
            return -1;
        int naive = offset == Py_None;
        Py_DECREF(offset);
        if (naive)
            return fall_back(w);
        PyObject *delta = PyNumber_Subtract(value, ITEM(node, 1)); /* aware - epoch: exact */
        if (delta == NULL)
            return -1;
        ms = PyDateTime_DELTA_GET_DAYS(delta) * 86400000LL + PyDateTime_DELTA_GET_SECONDS(delta) * 1000LL +
             PyDateTime_DELTA_GET_MICROSECONDS(delta) / 1000; /* microseconds >= 0: floored */
        Py_DECREF(delta);
    }
    return put_long(b, ms);
}

/* Text a validator function would return unchanged is not passed to it: the shortcut says so
 * when the UTF-8 bytes, translated by ``table``, equal ``template`` (e.g. a canonical UUID). */
static int shortcut_holds(PyObject *node, const char *utf8, Py_ssize_t size) {
    PyObject *table = ITEM(node, 2), *template = ITEM(node, 3);
    if (table == Py_None || PyBytes_GET_SIZE(template) != size)
        return 0;
    const unsigned char *t = (const unsigned char *)PyBytes_AS_STRING(table);
    const char *expected = PyBytes_AS_STRING(template);
    for (Py_ssize_t i = 0; i < size; i++)
        if ((char)t[(unsigned char)utf8[i]] != expected[i])
            return 0;
    return 1;
}

static int write_func(PlanWriter *w, Buf *b, PyObject *node, PyObject *value) {
    Py_ssize_t size;
    const char *utf8;
    if (ITEM(node, 2) != Py_None && PyUnicode_CheckExact(value)) {
        utf8 = PyUnicode_AsUTF8AndSize(value, &size);
        if (utf8 == NULL)
            return -1;
        if (shortcut_holds(node, utf8, size))
            return put_text(b, utf8, size);
    }
    PyObject *result = PyObject_CallOneArg(ITEM(node, 1), value);
    if (result == NULL)
        return -1;
    int exact = PyObject_IsTrue(ITEM(node, 4));
    if (exact ? !PyUnicode_CheckExact(result) : !PyUnicode_Check(result)) {
        Py_DECREF(result);
        return fall_back(w);
    }
    utf8 = PyUnicode_AsUTF8AndSize(result, &size);
    int status = utf8 == NULL ? -1 : put_text(b, utf8, size);
    Py_DECREF(result);
    return status;
}

static int within(PyObject *node, Py_ssize_t n, int low_at, int high_at) {
    Py_ssize_t low = PyLong_AsSsize_t(ITEM(node, low_at)), high = PyLong_AsSsize_t(ITEM(node, high_at));
    return n >= low && (high < 0 || n <= high);
}

/* Arrays and maps as fastavro writes them: one block holding every item, then a zero count. */
static int write_list(PlanWriter *w, Buf *b, PyObject *node, PyObject *value, Routing *r) {
    if (!PyList_CheckExact(value))
        return fall_back(w);
    Py_ssize_t n = PyList_GET_SIZE(value);
    if (!within(node, n, 1, 2))
        return fall_back(w);
    if (n && put_long(b, n) < 0)
        return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i >= PyList_GET_SIZE(value)) /* shrunk by a validator function */
            return fall_back(w);
        PyObject *item = PyList_GET_ITEM(value, i);
        Py_INCREF(item);
        int status = write_value(w, b, ITEM(node, 3), item, r);
        Py_DECREF(item);
        if (status < 0)
            return -1;
    }
    if (PyList_GET_SIZE(value) != n)
        return fall_back(w);
    return put(b, "", 1);
}

static int write_map(PlanWriter *w, Buf *b, PyObject *node, PyObject *value, Routing *r) {
    if (!PyDict_CheckExact(value))
        return fall_back(w);
    Py_ssize_t n = PyDict_GET_SIZE(value), pos = 0, seen = 0;
    if (n && put_long(b, n) < 0)
        return -1;
    PyObject *key, *item;
    while (PyDict_Next(value, &pos, &key, &item)) {
        Py_INCREF(key);
        Py_INCREF(item);
        int status = write_value(w, b, ITEM(node, 1), key, r);
        if (status == 0)
            status = write_value(w, b, ITEM(node, 2), item, r);
        Py_DECREF(key);
        Py_DECREF(item);
        if (status < 0)
            return -1;
        seen++;
    }
    if (seen != n || PyDict_GET_SIZE(value) != n)
        return fall_back(w);
    return put(b, "", 1);
}

static int write_record(PlanWriter *w, Buf *b, PyObject *node, PyObject *value, Routing *r) {
    if (!PyDict_CheckExact(value))
        return fall_back(w);
    PyObject *fields = ITEM(node, 2);
    Py_ssize_t present = 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(fields); i++) {
        PyObject *field = PyTuple_GET_ITEM(fields, i);
        PyObject *item = PyDict_GetItemWithError(value, ITEM(field, 0));
        if (item == NULL) {
            if (PyErr_Occurred())
                return -1;
            if (ITEM(field, 2) == Py_None) /* required */
                return fall_back(w);
            if (put_bytes(b, ITEM(field, 2)) < 0)
                return -1;
            continue;
        }
        present++;
        Py_INCREF(item);
        int status = write_value(w, b, ITEM(field, 1), item, r);
        Py_DECREF(item);
        if (status < 0)
            return -1;
    }
    if (PyObject_IsTrue(ITEM(node, 1)) && PyDict_GET_SIZE(value) != present) /* a key no field has */
        return fall_back(w);
    return 0;
}

/* Identifiers: each looked up by type and raw value in the caches (hashing is the dear part);
 * a miss calls ``miss(type, value)``, which fills the cache or raises. The strongest (lowest
 * rank, first of equals) gives the record's key. */
static int write_identifiers(PlanWriter *w, Buf *b, PyObject *node, PyObject *value, Routing *r) {
    if (!PyList_CheckExact(value))
        return fall_back(w);
    Py_ssize_t n = PyList_GET_SIZE(value);
    if (!within(node, n, 3, 4))
        return fall_back(w);
    if (put_long(b, n) < 0)
        return -1;
    PyObject *caches = ITEM(node, 1), *miss = ITEM(node, 2);
    long best = PyLong_AsLong(ITEM(node, 5));
    PyObject *strongest = NULL; /* the entry giving the key so far (owned) */
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i >= PyList_GET_SIZE(value)) /* shrunk by a miss's Python code */
            goto decline;
        PyObject *it = PyList_GET_ITEM(value, i);
        if (!PyDict_CheckExact(it) || PyDict_GET_SIZE(it) != 2)
            goto decline;
        PyObject *kind = PyDict_GetItemWithError(it, TYPE_KEY);
        PyObject *raw = kind == NULL ? NULL : PyDict_GetItemWithError(it, VALUE_KEY);
        PyObject *cache = raw == NULL ? NULL : PyDict_GetItemWithError(caches, kind);
        PyObject *entry = cache == NULL ? NULL : PyDict_GetItemWithError(cache, raw);
        if (PyErr_Occurred())
            goto error;
        if (cache == NULL)
            goto decline;
        if (entry != NULL) {
            Py_INCREF(entry);
        } else {
            Py_INCREF(it); /* kind and raw are borrowed from it, and the miss runs Python code */
            entry = PyObject_CallFunctionObjArgs(miss, kind, raw, NULL);
            Py_DECREF(it);
            if (entry == NULL)
                goto error;
        }
        /* entry: rank (1 byte), encoded size (2 bytes, little end), encoded identifier, key */
        if (!PyBytes_CheckExact(entry) || PyBytes_GET_SIZE(entry) < 3) {
            Py_DECREF(entry);
            PyErr_SetString(PyExc_SystemError, "identifier cache entry is not packed");
            goto error;
        }
        const unsigned char *packed = (const unsigned char *)PyBytes_AS_STRING(entry);
        if (put(b, (const char *)packed + 3, packed[1] | (packed[2] << 8)) < 0) {
            Py_DECREF(entry);
            goto error;
        }
        if (packed[0] < best) {
            best = packed[0];
            Py_XSETREF(strongest, entry);
        } else {
            Py_DECREF(entry);
        }
    }
    if (PyList_GET_SIZE(value) != n)
        goto decline;
    if (strongest != NULL) { /* the key is made once, from the strongest entry */
        const char *packed = PyBytes_AS_STRING(strongest);
        Py_ssize_t skip = 3 + ((unsigned char)packed[1] | ((unsigned char)packed[2] << 8));
        Py_XSETREF(r->key, PyBytes_FromStringAndSize(packed + skip, PyBytes_GET_SIZE(strongest) - skip));
        Py_DECREF(strongest);
        if (r->key == NULL)
            return -1;
    }
    return n ? put(b, "", 1) : 0;
decline:
    Py_XDECREF(strongest);
    return fall_back(w);
error:
    Py_XDECREF(strongest);
    return -1;
}

static int write_value(PlanWriter *w, Buf *b, PyObject *node, PyObject *value, Routing *r) {
    switch (PyLong_AsLong(ITEM(node, 0))) {
    case OP_NULLABLE:
        if (value == Py_None)
            return put_bytes(b, ITEM(node, 1));
        if (put_bytes(b, ITEM(node, 2)) < 0)
            return -1;
        return write_value(w, b, ITEM(node, 3), value, r);
    case OP_STR:
        return write_str(w, b, node, value);
    case OP_INT:
        return write_int(w, b, node, value);
    case OP_BOOL:
        if (value != Py_True && value != Py_False)
            return fall_back(w);
        return put(b, value == Py_True ? "\x01" : "\x00", 1);
    case OP_ENUM:
        return write_lookup(w, b, ITEM(node, 1), value);
    case OP_DATETIME:
        return write_datetime(w, b, node, value);
    case OP_FUNC:
        return write_func(w, b, node, value);
    case OP_LIST:
        return write_list(w, b, node, value, r);
    case OP_MAP:
        return write_map(w, b, node, value, r);
    case OP_RECORD:
        return write_record(w, b, node, value, r);
    case OP_ROUTE: {
        if (write_value(w, b, ITEM(node, 2), value, r) < 0)
            return -1;
        r->topic = PyDict_GetItemWithError(ITEM(node, 1), value);
        if (r->topic == NULL)
            return PyErr_Occurred() ? -1 : fall_back(w);
        return 0;
    }
    case OP_IDENTIFIERS:
        return write_identifiers(w, b, node, value, r);
    default:
        PyErr_SetString(PyExc_SystemError, "unknown plan node");
        return -1;
    }
}

/* write(event) -> (topic, key, header + Avro body) */
static PyObject *PlanWriter_write(PlanWriter *w, PyObject *event) {
    Buf b;
    b.data = b.inline_space;
    b.len = 0;
    b.cap = sizeof(b.inline_space);
    Routing r = {NULL, NULL};
    PyObject *result = NULL;
    if (put_bytes(&b, w->header) == 0 && write_value(w, &b, w->plan, event, &r) == 0) {
        if (r.topic == NULL || r.key == NULL) {
            fall_back(w);
        } else {
            PyObject *body = PyBytes_FromStringAndSize(b.data, b.len);
            if (body != NULL)
                result = PyTuple_Pack(3, r.topic, r.key, body);
            Py_XDECREF(body);
        }
    }
    Py_XDECREF(r.key);
    if (b.data != b.inline_space)
        PyMem_Free(b.data);
    return result;
}

static PyObject *PlanWriter_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    PyObject *plan, *header, *fallback;
    static char *names[] = {"plan", "header", "fallback", NULL};
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O!O!O:PlanWriter", names, &PyTuple_Type, &plan,
                                     &PyBytes_Type, &header, &fallback))
        return NULL;
    if (!PyExceptionClass_Check(fallback)) {
        PyErr_SetString(PyExc_TypeError, "fallback must be an exception class");
        return NULL;
    }
    PlanWriter *w = (PlanWriter *)type->tp_alloc(type, 0);
    if (w == NULL)
        return NULL;
    w->plan = Py_NewRef(plan);
    w->header = Py_NewRef(header);
    w->fallback = Py_NewRef(fallback);
    return (PyObject *)w;
}

static int PlanWriter_traverse(PlanWriter *w, visitproc visit, void *arg) {
    Py_VISIT(w->plan);
    Py_VISIT(w->header);
    Py_VISIT(w->fallback);
    return 0;
}

static int PlanWriter_clear(PlanWriter *w) {
    Py_CLEAR(w->plan);
    Py_CLEAR(w->header);
    Py_CLEAR(w->fallback);
    return 0;
}

static void PlanWriter_dealloc(PlanWriter *w) {
    PyObject_GC_UnTrack(w);
    PlanWriter_clear(w);
    Py_TYPE(w)->tp_free((PyObject *)w);
}

static PyMethodDef PlanWriter_methods[] = {
    {"write", (PyCFunction)PlanWriter_write, METH_O,
     "write(event) -> (topic, key, value), or raises the fallback exception"},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject PlanWriterType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "producers._plan_writer.PlanWriter",
    .tp_basicsize = sizeof(PlanWriter),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "PlanWriter(plan, header, fallback): the SDK's fast path, run from a plan.",
    .tp_new = PlanWriter_new,
    .tp_traverse = (traverseproc)PlanWriter_traverse,
    .tp_clear = (inquiry)PlanWriter_clear,
    .tp_dealloc = (destructor)PlanWriter_dealloc,
    .tp_methods = PlanWriter_methods,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "producers._plan_writer", "The SDK's fast path in C.", -1, NULL,
};

PyMODINIT_FUNC PyInit__plan_writer(void) {
    PyDateTime_IMPORT;
    if (PyDateTimeAPI == NULL || PyType_Ready(&PlanWriterType) < 0)
        return NULL;
    TYPE_KEY = PyUnicode_InternFromString("type");
    VALUE_KEY = PyUnicode_InternFromString("value");
    if (TYPE_KEY == NULL || VALUE_KEY == NULL)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "PlanWriter", (PyObject *)&PlanWriterType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
