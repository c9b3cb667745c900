/* The deep merge of subgraph JSON into the response's data tree (gateway/execution/merge.py).
 *
 * `merge_into(target, source)` does what merge.py's `merge_json` does, step for step: objects
 * merge by key, lists of the same length by index, a null never overwrites, anything else replaces.
 * Only exact dicts and lists count as objects and lists (as `type(x) is dict` there). Every entity
 * answer and root answer passes through it, which is why it is in C: the Python version spends its
 * time in per-key lookups and calls.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static int merge_dicts(PyObject *target, PyObject *source);

/* `current` and `value` are exact lists of the same length. */
static int merge_lists(PyObject *current, PyObject *value) {
    Py_ssize_t n = PyList_GET_SIZE(value);
    for (Py_ssize_t i = 0; i < n; i++) {
        if (i >= PyList_GET_SIZE(current) || i >= PyList_GET_SIZE(value)) {
            PyErr_SetString(PyExc_IndexError, "list index out of range");
            return -1;
        }
        PyObject *existing = PyList_GET_ITEM(current, i);
        PyObject *item = PyList_GET_ITEM(value, i);
        int rc = 0;
        Py_INCREF(existing);
        Py_INCREF(item);
        if (PyDict_CheckExact(existing) && PyDict_CheckExact(item)) {
            rc = merge_dicts(existing, item);
        } else if (PyList_CheckExact(existing) && PyList_CheckExact(item)
                   && PyList_GET_SIZE(existing) == PyList_GET_SIZE(item)) {
            if (Py_EnterRecursiveCall(" while merging subgraph JSON")) {
                rc = -1;
            } else {
                rc = merge_lists(existing, item);
                Py_LeaveRecursiveCall();
            }
        } else if (existing == Py_None) {
            Py_INCREF(item);
            rc = PyList_SetItem(current, i, item); /* steals the new reference */
        }
        Py_DECREF(existing);
        Py_DECREF(item);
        if (rc < 0) return -1;
    }
    return 0;
}

static int merge_dicts(PyObject *target, PyObject *source) {
    if (Py_EnterRecursiveCall(" while merging subgraph JSON")) return -1;
    Py_ssize_t pos = 0, size = PyDict_GET_SIZE(source);
    PyObject *key, *value;
    int rc = 0;
    while (rc == 0 && PyDict_Next(source, &pos, &key, &value)) {
        Py_INCREF(key);
        Py_INCREF(value);
        PyObject *current = PyDict_GetItemWithError(target, key); /* borrowed */
        if (current == NULL && PyErr_Occurred()) {
            rc = -1;
        } else if (current == NULL || current == Py_None) {
            rc = PyDict_SetItem(target, key, value);
        } else if (value == Py_None) {
            /* a null never overwrites */
        } else if (PyDict_CheckExact(current) && PyDict_CheckExact(value)) {
            Py_INCREF(current);
            rc = merge_dicts(current, value);
            Py_DECREF(current);
        } else if (PyList_CheckExact(current) && PyList_CheckExact(value)
                   && PyList_GET_SIZE(current) == PyList_GET_SIZE(value)) {
            Py_INCREF(current);
            rc = merge_lists(current, value);
            Py_DECREF(current);
        } else {
            rc = PyDict_SetItem(target, key, value);
        }
        Py_DECREF(key);
        Py_DECREF(value);
        if (rc == 0 && PyDict_GET_SIZE(source) != size) { /* as a Python loop over source.items() */
            PyErr_SetString(PyExc_RuntimeError, "dictionary changed size during iteration");
            rc = -1;
        }
    }
    Py_LeaveRecursiveCall();
    return rc;
}

static PyObject *py_merge_into(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 2) {
        PyErr_Format(PyExc_TypeError, "merge_into() takes 2 arguments (%zd given)", nargs);
        return NULL;
    }
    if (!PyDict_Check(args[0]) || !PyDict_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "merge_into() merges a dict into a dict");
        return NULL;
    }
    if (merge_dicts(args[0], args[1]) < 0) return NULL;
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"merge_into", (PyCFunction)(void (*)(void))py_merge_into, METH_FASTCALL,
     "merge_into(target, source): deep-merge subgraph JSON `source` into `target` in place."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "gateway.execution._merge",
    "The deep merge of subgraph JSON (see gateway/execution/merge.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__merge(void) { return PyModule_Create(&module_def); }
