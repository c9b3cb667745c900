/* The response writer: shapes merged subgraph data by a compiled shape and writes the JSON body
 * `{"data":...}` in the same walk, without building the shaped tree (gateway/execution/response_json.py).
 *
 * It follows gateway/execution/shaping.py exactly where a response has no error. Wherever shaping
 * would report an error or bubble a null (a null in a non-null position, an enum value or a
 * __typename the API schema lacks, a value of the wrong JSON kind), and on any failure, `write`
 * returns None and the caller shapes in Python, which gives the response the errors it must have.
 * Leaves are written as orjson writes them: strings, integers, booleans, null, and lists and objects
 * of those here; floats, integers past 64 bits and anything else by orjson itself.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

enum { LEAF = 0, COMPOSITE = 1, TYPENAME = 2, OPAQUE = 3 };
enum { OK = 0, GIVE_UP = -1 };
#define MAX_DEPTH 255 /* orjson's own limit: deeper values are left to it (and its error) */

static PyObject *json_dumps;   /* orjson.dumps */
static PyObject *clauses_hold; /* gateway.planning.operation.clauses_hold */
static PyObject *str_typename; /* "__typename" */

/* ---- the compiled plan ---------------------------------------------------------------------- */

typedef struct Plan Plan;

typedef struct {
    PyObject *key;         /* the response key (str) */
    char *json_key;        /* `"key":` */
    Py_ssize_t json_key_len;
    int kind;
    int nullable;
    Py_ssize_t depth;      /* list levels */
    char *item_nullable;   /* per list level */
    PyObject *clauses;     /* NULL: always included */
    PyObject *enum_values; /* NULL: not an enum */
    Plan *sub;             /* composites */
} Field;

struct Plan {
    PyObject_HEAD
    Py_ssize_t nfields;
    Field *fields;
    PyObject *by_type;     /* NULL, or dict: runtime __typename -> Plan (its fields only) */
    PyObject *typename_;   /* NULL, or the static __typename */
    PyObject *valid_types; /* NULL, or frozenset */
};

static void plan_dealloc(Plan *self) {
    for (Py_ssize_t i = 0; i < self->nfields; i++) {
        Field *f = &self->fields[i];
        Py_XDECREF(f->key);
        PyMem_Free(f->json_key);
        PyMem_Free(f->item_nullable);
        Py_XDECREF(f->clauses);
        Py_XDECREF(f->enum_values);
        Py_XDECREF((PyObject *)f->sub);
    }
    PyMem_Free(self->fields);
    Py_XDECREF(self->by_type);
    Py_XDECREF(self->typename_);
    Py_XDECREF(self->valid_types);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject PlanType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "gateway.execution._response_writer.Plan",
    .tp_doc = "A response shape compiled for the writer.",
    .tp_basicsize = sizeof(Plan),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)plan_dealloc,
};

/* ---- the output buffer ---------------------------------------------------------------------- */

typedef struct {
    char *buf;
    Py_ssize_t len;
    Py_ssize_t cap;
    PyObject *variables;
    int depth;
} Out;

static int grow(Out *o, Py_ssize_t need) {
    Py_ssize_t cap = o->cap ? o->cap : 1024;
    while (cap < o->len + need) cap *= 2;
    char *buf = PyMem_Realloc(o->buf, (size_t)cap);
    if (buf == NULL) {
        PyErr_NoMemory();
        return GIVE_UP;
    }
    o->buf = buf;
    o->cap = cap;
    return OK;
}

#define RESERVE(o, n) (((o)->len + (n) <= (o)->cap) ? OK : grow((o), (n)))

static inline int put(Out *o, const char *s, Py_ssize_t n) {
    if (RESERVE(o, n) < 0) return GIVE_UP;
    memcpy(o->buf + o->len, s, (size_t)n);
    o->len += n;
    return OK;
}

static inline int put_char(Out *o, char c) {
    if (RESERVE(o, 1) < 0) return GIVE_UP;
    o->buf[o->len++] = c;
    return OK;
}

#define PUT_LITERAL(o, s) put((o), (s), (Py_ssize_t)(sizeof(s) - 1))

/* ---- leaves --------------------------------------------------------------------------------- */

static const char HEX[] = "0123456789abcdef";

/* A UTF-8 string, escaped as orjson escapes: `"`, `\` and control characters only. */
static int put_utf8_string(Out *o, const char *s, Py_ssize_t n) {
    if (RESERVE(o, n * 6 + 2) < 0) return GIVE_UP; /* the worst case: every byte as \u00XX */
    char *d = o->buf + o->len;
    *d++ = '"';
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            *d++ = (char)c;
            continue;
        }
        *d++ = '\\';
        switch (c) {
        case '"': *d++ = '"'; break;
        case '\\': *d++ = '\\'; break;
        case '\b': *d++ = 'b'; break;
        case '\t': *d++ = 't'; break;
        case '\n': *d++ = 'n'; break;
        case '\f': *d++ = 'f'; break;
        case '\r': *d++ = 'r'; break;
        default:
            *d++ = 'u'; *d++ = '0'; *d++ = '0';
            *d++ = HEX[c >> 4]; *d++ = HEX[c & 0xf];
        }
    }
    *d++ = '"';
    o->len = d - o->buf;
    return OK;
}

static int put_string(Out *o, PyObject *value) {
    Py_ssize_t n;
    const char *s = PyUnicode_AsUTF8AndSize(value, &n); /* fails on a lone surrogate, as orjson does */
    if (s == NULL) return GIVE_UP;
    return put_utf8_string(o, s, n);
}

static int put_by_orjson(Out *o, PyObject *value) {
    PyObject *bytes = PyObject_CallOneArg(json_dumps, value);
    if (bytes == NULL) return GIVE_UP;
    int rc = put(o, PyBytes_AS_STRING(bytes), PyBytes_GET_SIZE(bytes));
    Py_DECREF(bytes);
    return rc;
}

static int put_value(Out *o, PyObject *value);

static int put_list(Out *o, PyObject *list) {
    if (PUT_LITERAL(o, "[") < 0) return GIVE_UP;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(list); i++) {
        if (i && put_char(o, ',') < 0) return GIVE_UP;
        if (put_value(o, PyList_GET_ITEM(list, i)) < 0) return GIVE_UP;
    }
    return put_char(o, ']');
}

static int put_dict(Out *o, PyObject *dict) {
    if (put_char(o, '{') < 0) return GIVE_UP;
    Py_ssize_t pos = 0;
    PyObject *key, *item;
    int first = 1;
    while (PyDict_Next(dict, &pos, &key, &item)) {
        if (!PyUnicode_CheckExact(key)) return GIVE_UP; /* orjson's error, or its options */
        if (!first && put_char(o, ',') < 0) return GIVE_UP;
        first = 0;
        if (put_string(o, key) < 0 || put_char(o, ':') < 0 || put_value(o, item) < 0) return GIVE_UP;
    }
    return put_char(o, '}');
}

/* Any JSON value copied as is (a scalar leaf, or an opaque one). */
static int put_value(Out *o, PyObject *value) {
    if (PyUnicode_CheckExact(value)) return put_string(o, value);
    if (value == Py_None) return PUT_LITERAL(o, "null");
    if (value == Py_True) return PUT_LITERAL(o, "true");
    if (value == Py_False) return PUT_LITERAL(o, "false");
    if (PyLong_CheckExact(value)) {
        int overflow;
        long long n = PyLong_AsLongLongAndOverflow(value, &overflow);
        if (overflow) return put_by_orjson(o, value);
        if (n == -1 && PyErr_Occurred()) return GIVE_UP;
        char digits[24];
        int len = snprintf(digits, sizeof digits, "%lld", n);
        return put(o, digits, len);
    }
    if (PyList_CheckExact(value) || PyDict_CheckExact(value)) {
        if (++o->depth > MAX_DEPTH) return GIVE_UP;
        int rc = PyList_CheckExact(value) ? put_list(o, value) : put_dict(o, value);
        o->depth--;
        return rc;
    }
    return put_by_orjson(o, value); /* floats, and whatever else orjson knows */
}

/* ---- shaping -------------------------------------------------------------------------------- */

static int write_object(Out *o, Plan *plan, PyObject *obj);

static int write_enum(Out *o, Field *f, PyObject *value, Py_ssize_t level) {
    if (level < f->depth) {
        if (!PyList_CheckExact(value)) return GIVE_UP;
        if (put_char(o, '[') < 0) return GIVE_UP;
        for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
            PyObject *item = PyList_GET_ITEM(value, i);
            if (i && put_char(o, ',') < 0) return GIVE_UP;
            if (item == Py_None) {
                if (!f->item_nullable[level] || PUT_LITERAL(o, "null") < 0) return GIVE_UP;
            } else if (write_enum(o, f, item, level + 1) < 0) {
                return GIVE_UP;
            }
        }
        return put_char(o, ']');
    }
    if (!PyUnicode_CheckExact(value)) return GIVE_UP;
    int known = PySet_Contains(f->enum_values, value);
    if (known != 1) return GIVE_UP; /* an @inaccessible value: Python reports it */
    return put_string(o, value);
}

/* An object at `f`'s position; an abstract one's __typename must be one the API schema has. */
static int write_composite(Out *o, Plan *sub, PyObject *obj) {
    if (sub->valid_types != NULL) {
        PyObject *typename_ = PyDict_GetItemWithError(obj, str_typename);
        if (typename_ == NULL && PyErr_Occurred()) return GIVE_UP;
        if (typename_ != NULL && typename_ != Py_None && PySet_Contains(sub->valid_types, typename_) != 1)
            return GIVE_UP;
    }
    return write_object(o, sub, obj);
}

static int write_list(Out *o, Field *f, PyObject *value, Py_ssize_t level) {
    if (!PyList_CheckExact(value)) return GIVE_UP;
    int item_nullable = f->item_nullable[level];
    int nested = level + 1 < f->depth;
    if (put_char(o, '[') < 0) return GIVE_UP;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(value); i++) {
        PyObject *item = PyList_GET_ITEM(value, i);
        if (i && put_char(o, ',') < 0) return GIVE_UP;
        int rc;
        if (item == Py_None || (!nested && !PyDict_CheckExact(item))) {
            /* a null, or what shaping turns into one: allowed where items may be null */
            rc = item_nullable ? PUT_LITERAL(o, "null") : GIVE_UP;
        } else if (nested) {
            rc = write_list(o, f, item, level + 1);
        } else {
            rc = write_composite(o, f->sub, item);
        }
        if (rc < 0) return GIVE_UP;
    }
    return put_char(o, ']');
}

static int write_object(Out *o, Plan *plan, PyObject *obj) {
    if (++o->depth > MAX_DEPTH) return GIVE_UP;
    Plan *fields = plan;
    if (plan->by_type != NULL) {
        PyObject *typename_ = PyDict_GetItemWithError(obj, str_typename);
        if (typename_ == NULL && PyErr_Occurred()) return GIVE_UP;
        if (typename_ != NULL) {
            PyObject *variant = PyDict_GetItemWithError(plan->by_type, typename_);
            if (variant != NULL) fields = (Plan *)variant;
            else if (PyErr_Occurred()) return GIVE_UP;
        }
    }
    if (put_char(o, '{') < 0) return GIVE_UP;
    int first = 1;
    for (Py_ssize_t i = 0; i < fields->nfields; i++) {
        Field *f = &fields->fields[i];
        if (f->clauses != NULL) {
            PyObject *held = PyObject_CallFunctionObjArgs(clauses_hold, f->clauses, o->variables, NULL);
            if (held == NULL) return GIVE_UP;
            int holds = PyObject_IsTrue(held);
            Py_DECREF(held);
            if (holds < 0) return GIVE_UP;
            if (!holds) continue;
        }
        PyObject *value = PyDict_GetItemWithError(obj, f->key);
        if (value == NULL) {
            if (PyErr_Occurred()) return GIVE_UP;
            value = Py_None;
        }
        if (!first && put_char(o, ',') < 0) return GIVE_UP;
        first = 0;
        if (put(o, f->json_key, f->json_key_len) < 0) return GIVE_UP;
        int rc;
        if (f->kind == TYPENAME) {
            /* the static __typename, else the object's own, else the value at the key */
            PyObject *shown = plan->typename_;
            if (shown == NULL || !PyObject_IsTrue(shown)) {
                shown = PyDict_GetItemWithError(obj, str_typename);
                if (shown == NULL && PyErr_Occurred()) return GIVE_UP;
                int truthy = shown != NULL ? PyObject_IsTrue(shown) : 0;
                if (truthy < 0) return GIVE_UP;
                if (!truthy) shown = value;
            }
            rc = put_value(o, shown);
        } else if (value == Py_None) {
            rc = f->nullable ? PUT_LITERAL(o, "null") : GIVE_UP;
        } else if (f->kind != COMPOSITE) {
            rc = f->enum_values == NULL ? put_value(o, value) : write_enum(o, f, value, 0);
        } else if (f->depth) {
            rc = write_list(o, f, value, 0);
        } else if (PyDict_CheckExact(value)) {
            rc = write_composite(o, f->sub, value);
        } else {
            rc = f->nullable ? PUT_LITERAL(o, "null") : GIVE_UP;
        }
        if (rc < 0) return GIVE_UP;
    }
    o->depth--;
    return put_char(o, '}');
}

/* ---- compiling a shape ---------------------------------------------------------------------- */

/* A new reference to `obj.name`, or NULL (with the exception set); None becomes NULL too, via *none. */
static PyObject *attr_or_none(PyObject *obj, const char *name, int *failed) {
    PyObject *value = PyObject_GetAttrString(obj, name);
    if (value == NULL) {
        *failed = 1;
        return NULL;
    }
    if (value == Py_None) {
        Py_DECREF(value);
        return NULL;
    }
    return value;
}

static Plan *compile_fields(PyObject *fields);
static Plan *compile_sel(PyObject *sel);

static int compile_field(Field *f, PyObject *shape_field) {
    int failed = 0;
    PyObject *kind = NULL, *nullable = NULL, *levels = NULL, *sub = NULL;
    f->key = attr_or_none(shape_field, "key", &failed);
    kind = attr_or_none(shape_field, "kind", &failed);
    nullable = attr_or_none(shape_field, "nullable", &failed);
    levels = attr_or_none(shape_field, "list_nullable", &failed);
    sub = attr_or_none(shape_field, "sub", &failed);
    f->clauses = attr_or_none(shape_field, "clauses", &failed);
    f->enum_values = attr_or_none(shape_field, "enum_values", &failed);
    if (failed || f->key == NULL || kind == NULL || nullable == NULL || levels == NULL ||
        !PyUnicode_CheckExact(f->key) || !PyTuple_Check(levels) ||
        (f->enum_values != NULL && !PyAnySet_Check(f->enum_values))) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "not a ShapeField");
        goto fail;
    }
    f->kind = (int)PyLong_AsLong(kind);
    f->nullable = PyObject_IsTrue(nullable);
    if (PyErr_Occurred() || f->nullable < 0) goto fail;
    f->depth = PyTuple_GET_SIZE(levels);
    f->item_nullable = PyMem_Calloc((size_t)(f->depth ? f->depth : 1), 1);
    if (f->item_nullable == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t level = 0; level < f->depth; level++) {
        int flag = PyObject_IsTrue(PyTuple_GET_ITEM(levels, level));
        if (flag < 0) goto fail;
        f->item_nullable[level] = (char)flag;
    }
    Out key = {0};
    if (put_string(&key, f->key) < 0 || put_char(&key, ':') < 0) {
        PyMem_Free(key.buf);
        goto fail;
    }
    f->json_key = key.buf;
    f->json_key_len = key.len;
    if (f->kind == COMPOSITE) {
        if (sub == NULL) {
            PyErr_SetString(PyExc_TypeError, "a composite ShapeField without a sub-shape");
            goto fail;
        }
        f->sub = compile_sel(sub);
        if (f->sub == NULL) goto fail;
    }
    Py_DECREF(kind);
    Py_DECREF(nullable);
    Py_DECREF(levels);
    Py_XDECREF(sub);
    return OK;
fail:
    Py_XDECREF(kind);
    Py_XDECREF(nullable);
    Py_XDECREF(levels);
    Py_XDECREF(sub);
    return GIVE_UP;
}

static Plan *compile_fields(PyObject *fields) {
    if (!PyTuple_Check(fields)) {
        PyErr_SetString(PyExc_TypeError, "a shape's fields must be a tuple");
        return NULL;
    }
    Plan *plan = PyObject_New(Plan, &PlanType);
    if (plan == NULL) return NULL;
    plan->nfields = 0;
    plan->by_type = plan->typename_ = plan->valid_types = NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(fields);
    plan->fields = PyMem_Calloc((size_t)(n ? n : 1), sizeof(Field));
    if (plan->fields == NULL) {
        Py_DECREF(plan);
        PyErr_NoMemory();
        return NULL;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        plan->nfields = i + 1; /* so that dealloc frees what this field holds, even half compiled */
        if (compile_field(&plan->fields[i], PyTuple_GET_ITEM(fields, i)) < 0) {
            Py_DECREF(plan);
            return NULL;
        }
    }
    return plan;
}

static Plan *compile_sel(PyObject *sel) {
    int failed = 0;
    PyObject *fields = attr_or_none(sel, "fields", &failed);
    if (fields == NULL) {
        if (!failed) PyErr_SetString(PyExc_TypeError, "not a ShapeSel");
        return NULL;
    }
    Plan *plan = compile_fields(fields);
    Py_DECREF(fields);
    if (plan == NULL) return NULL;
    PyObject *by_type = attr_or_none(sel, "by_type", &failed);
    plan->typename_ = attr_or_none(sel, "typename", &failed);
    plan->valid_types = attr_or_none(sel, "valid_types", &failed);
    if (failed || (by_type != NULL && !PyDict_Check(by_type)) ||
        (plan->valid_types != NULL && !PyAnySet_Check(plan->valid_types))) {
        if (!PyErr_Occurred()) PyErr_SetString(PyExc_TypeError, "not a ShapeSel");
        Py_XDECREF(by_type);
        Py_DECREF(plan);
        return NULL;
    }
    if (by_type != NULL) {
        plan->by_type = PyDict_New();
        Py_ssize_t pos = 0;
        PyObject *runtime, *variant_fields;
        while (plan->by_type != NULL && PyDict_Next(by_type, &pos, &runtime, &variant_fields)) {
            Plan *variant = compile_fields(variant_fields);
            if (variant == NULL || PyDict_SetItem(plan->by_type, runtime, (PyObject *)variant) < 0) {
                Py_XDECREF(variant);
                Py_CLEAR(plan->by_type);
                break;
            }
            Py_DECREF(variant);
        }
        Py_DECREF(by_type);
        if (plan->by_type == NULL) {
            Py_DECREF(plan);
            return NULL;
        }
    }
    return plan;
}

/* ---- the module ----------------------------------------------------------------------------- */

static PyObject *py_bind(PyObject *module, PyObject *args) {
    PyObject *dumps, *holds;
    if (!PyArg_ParseTuple(args, "OO:bind", &dumps, &holds)) return NULL;
    Py_INCREF(dumps);
    Py_XSETREF(json_dumps, dumps);
    Py_INCREF(holds);
    Py_XSETREF(clauses_hold, holds);
    Py_RETURN_NONE;
}

static PyObject *py_compile(PyObject *module, PyObject *shape) {
    return (PyObject *)compile_sel(shape);
}

static PyObject *py_write(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 3 || !PyObject_TypeCheck(args[0], &PlanType)) {
        PyErr_SetString(PyExc_TypeError, "write(plan, data, variables)");
        return NULL;
    }
    if (json_dumps == NULL || clauses_hold == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "the response writer is not bound (call bind first)");
        return NULL;
    }
    PyObject *data = args[1];
    Out o = {0};
    o.variables = args[2];
    int rc = grow(&o, 4096);
    if (rc == OK) rc = PUT_LITERAL(&o, "{\"data\":");
    if (rc == OK) {
        if (data == Py_None) {
            PyObject *empty = PyDict_New();
            rc = empty != NULL ? write_object(&o, (Plan *)args[0], empty) : GIVE_UP;
            Py_XDECREF(empty);
        } else {
            rc = PyDict_CheckExact(data) ? write_object(&o, (Plan *)args[0], data) : GIVE_UP;
        }
    }
    if (rc == OK) rc = put_char(&o, '}');
    PyObject *body = NULL;
    if (rc == OK) body = PyBytes_FromStringAndSize(o.buf, o.len);
    PyMem_Free(o.buf);
    if (body != NULL) return body;
    PyErr_Clear(); /* shaping in Python gives this response what it must have, errors included */
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"bind", py_bind, METH_VARARGS, "bind(dumps, clauses_hold): the JSON writer and @skip/@include test."},
    {"compile", py_compile, METH_O, "compile(shape) -> Plan: a ShapeSel compiled for write."},
    {"write", (PyCFunction)(void (*)(void))py_write, METH_FASTCALL,
     "write(plan, data, variables) -> bytes | None: the body {\"data\":...}, or None to shape in Python."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "gateway.execution._response_writer",
    "Shapes and serializes a response in one pass (see gateway/execution/response_json.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__response_writer(void) {
    if (PyType_Ready(&PlanType) < 0) return NULL;
    str_typename = PyUnicode_InternFromString("__typename");
    if (str_typename == NULL) return NULL;
    return PyModule_Create(&module_def);
}
