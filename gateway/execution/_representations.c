/* The representations of an `_entities` fetch (gateway/execution/representations.py).
 *
 * `build(recipes, objects, positions)` does what the executor's Python loop does for an uncached
 * fetch, step for step: for each position, the object's recipe by its `__typename`, its key fields
 * projected (a null key skips the object), its `@requires` fields projected, `__typename` set to the
 * recipe's, then identical representations sent once (compared by their JSON, from orjson.dumps),
 * each with the positions it answers. `compile(entity_reps)` turns the planner's recipes (EntityRep,
 * RepSel) into the C form once per fetch node.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *json_dumps;   /* orjson.dumps */
static PyObject *str_typename; /* "__typename" */

/* ---- compiled selections -------------------------------------------------------------------- */

typedef struct Sel Sel;

typedef struct {
    PyObject *data_key; /* key in the merged response */
    PyObject *rep_key;  /* key in the representation */
    int is_typename;    /* rep_key == "__typename" (never makes a strict projection fail) */
    Sel *sub;           /* NULL: a leaf */
} SelField;

typedef struct {
    PyObject *typenames; /* frozenset */
    Sel *sub;
} SelFrag;

struct Sel {
    Py_ssize_t nfields, nfrags;
    SelField *fields;
    SelFrag *frags;
};

static void sel_free(Sel *sel) {
    if (sel == NULL) return;
    for (Py_ssize_t i = 0; i < sel->nfields; i++) {
        Py_XDECREF(sel->fields[i].data_key);
        Py_XDECREF(sel->fields[i].rep_key);
        sel_free(sel->fields[i].sub);
    }
    for (Py_ssize_t i = 0; i < sel->nfrags; i++) {
        Py_XDECREF(sel->frags[i].typenames);
        sel_free(sel->frags[i].sub);
    }
    PyMem_Free(sel->fields);
    PyMem_Free(sel->frags);
    PyMem_Free(sel);
}

/* A RepSel (`fields`: list of (str, str, RepSel | None); `frags`: list of (frozenset, RepSel)). */
static Sel *sel_compile(PyObject *repsel, int depth) {
    if (depth > 64) {
        PyErr_SetString(PyExc_ValueError, "representation selection nested too deeply");
        return NULL;
    }
    Sel *sel = PyMem_Calloc(1, sizeof(Sel));
    if (sel == NULL) { PyErr_NoMemory(); return NULL; }
    PyObject *fields = PyObject_GetAttrString(repsel, "fields");
    PyObject *frags = fields == NULL ? NULL : PyObject_GetAttrString(repsel, "frags");
    if (frags == NULL) goto fail;
    if (!PyList_Check(fields) || !PyList_Check(frags)) {
        PyErr_SetString(PyExc_TypeError, "RepSel.fields and RepSel.frags must be lists");
        goto fail;
    }
    Py_ssize_t nfields = PyList_GET_SIZE(fields), nfrags = PyList_GET_SIZE(frags);
    sel->fields = PyMem_Calloc(nfields ? nfields : 1, sizeof(SelField));
    sel->frags = PyMem_Calloc(nfrags ? nfrags : 1, sizeof(SelFrag));
    if (sel->fields == NULL || sel->frags == NULL) { PyErr_NoMemory(); goto fail; }
    for (Py_ssize_t i = 0; i < nfields; i++) {
        PyObject *entry = PyList_GET_ITEM(fields, i);
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 3
            || !PyUnicode_CheckExact(PyTuple_GET_ITEM(entry, 0)) || !PyUnicode_CheckExact(PyTuple_GET_ITEM(entry, 1))) {
            PyErr_SetString(PyExc_TypeError, "a RepSel field is (data key, representation key, RepSel | None)");
            goto fail;
        }
        SelField *f = &sel->fields[i];
        sel->nfields = i + 1;
        f->data_key = Py_NewRef(PyTuple_GET_ITEM(entry, 0));
        f->rep_key = Py_NewRef(PyTuple_GET_ITEM(entry, 1));
        f->is_typename = PyUnicode_Compare(f->rep_key, str_typename) == 0;
        PyObject *sub = PyTuple_GET_ITEM(entry, 2);
        if (sub != Py_None && (f->sub = sel_compile(sub, depth + 1)) == NULL) goto fail;
    }
    for (Py_ssize_t i = 0; i < nfrags; i++) {
        PyObject *entry = PyList_GET_ITEM(frags, i);
        if (!PyTuple_Check(entry) || PyTuple_GET_SIZE(entry) != 2 || !PyFrozenSet_Check(PyTuple_GET_ITEM(entry, 0))) {
            PyErr_SetString(PyExc_TypeError, "a RepSel fragment is (frozenset of type names, RepSel)");
            goto fail;
        }
        SelFrag *g = &sel->frags[i];
        sel->nfrags = i + 1;
        g->typenames = Py_NewRef(PyTuple_GET_ITEM(entry, 0));
        if ((g->sub = sel_compile(PyTuple_GET_ITEM(entry, 1), depth + 1)) == NULL) goto fail;
    }
    Py_DECREF(fields);
    Py_DECREF(frags);
    return sel;
fail:
    Py_XDECREF(fields);
    Py_XDECREF(frags);
    sel_free(sel);
    return NULL;
}

/* ---- compiled recipes ----------------------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *by_typename; /* dict: runtime __typename -> capsule index (int) */
    Py_ssize_t n;
    PyObject **typenames;  /* the typename each recipe sends */
    Sel **keys;
    Sel **requires;        /* NULL: no @requires fields */
} Recipes;

static void recipes_dealloc(Recipes *self) {
    for (Py_ssize_t i = 0; i < self->n; i++) {
        Py_XDECREF(self->typenames[i]);
        sel_free(self->keys[i]);
        sel_free(self->requires[i]);
    }
    PyMem_Free(self->typenames);
    PyMem_Free(self->keys);
    PyMem_Free(self->requires);
    Py_XDECREF(self->by_typename);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyTypeObject RecipesType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "gateway.execution._representations.Recipes",
    .tp_doc = "An entity fetch's representation recipes, compiled for build().",
    .tp_basicsize = sizeof(Recipes),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = (destructor)recipes_dealloc,
};

static PyObject *py_compile(PyObject *module, PyObject *entity_reps) {
    (void)module;
    if (!PyDict_Check(entity_reps)) {
        PyErr_SetString(PyExc_TypeError, "compile() takes the fetch's entity_reps dict");
        return NULL;
    }
    Py_ssize_t n = PyDict_GET_SIZE(entity_reps);
    Recipes *self = PyObject_New(Recipes, &RecipesType);
    if (self == NULL) return NULL;
    self->n = 0;
    self->by_typename = PyDict_New();
    self->typenames = PyMem_Calloc(n ? n : 1, sizeof(PyObject *));
    self->keys = PyMem_Calloc(n ? n : 1, sizeof(Sel *));
    self->requires = PyMem_Calloc(n ? n : 1, sizeof(Sel *));
    if (self->by_typename == NULL || self->typenames == NULL || self->keys == NULL || self->requires == NULL) {
        if (!PyErr_Occurred()) PyErr_NoMemory();
        goto fail;
    }
    Py_ssize_t pos = 0;
    PyObject *runtime, *recipe;
    while (PyDict_Next(entity_reps, &pos, &runtime, &recipe)) {
        Py_ssize_t i = self->n++;
        PyObject *typename = PyObject_GetAttrString(recipe, "typename");
        if (typename == NULL) goto fail;
        self->typenames[i] = typename;
        PyObject *keys = PyObject_GetAttrString(recipe, "keys");
        if (keys == NULL) goto fail;
        self->keys[i] = sel_compile(keys, 0);
        Py_DECREF(keys);
        if (self->keys[i] == NULL) goto fail;
        PyObject *requires = PyObject_GetAttrString(recipe, "requires");
        if (requires == NULL) goto fail;
        Sel *compiled = sel_compile(requires, 0);
        Py_DECREF(requires);
        if (compiled == NULL) goto fail;
        if (compiled->nfields == 0 && compiled->nfrags == 0) {
            sel_free(compiled); /* as `if recipe.requires.fields or recipe.requires.frags` */
        } else {
            self->requires[i] = compiled;
        }
        PyObject *index = PyLong_FromSsize_t(i);
        if (index == NULL) goto fail;
        int rc = PyDict_SetItem(self->by_typename, runtime, index);
        Py_DECREF(index);
        if (rc < 0) goto fail;
    }
    return (PyObject *)self;
fail:
    Py_DECREF(self);
    return NULL;
}

/* ---- projection ----------------------------------------------------------------------------- */

enum { VALID = 1, INVALID = 0, FAILED = -1 };

static int project(PyObject *obj, Sel *sel, PyObject *out, int strict, int depth);

/* The projection of `value` by `sel` (a new reference), NULL with *status INVALID or FAILED. */
static PyObject *project_value(PyObject *value, Sel *sel, int strict, int depth, int *status) {
    if (depth > 255) {
        PyErr_SetString(PyExc_RecursionError, "maximum recursion depth exceeded while projecting a representation");
        *status = FAILED;
        return NULL;
    }
    if (PyList_CheckExact(value)) {
        Py_ssize_t n = PyList_GET_SIZE(value);
        PyObject *items = PyList_New(0);
        if (items == NULL) { *status = FAILED; return NULL; }
        for (Py_ssize_t i = 0; i < n && i < PyList_GET_SIZE(value); i++) {
            PyObject *item = PyList_GET_ITEM(value, i);
            PyObject *projected;
            if (item == Py_None) {
                projected = Py_NewRef(Py_None);
            } else {
                Py_INCREF(item);
                projected = project_value(item, sel, strict, depth + 1, status);
                Py_DECREF(item);
                if (projected == NULL) { Py_DECREF(items); return NULL; }
            }
            int rc = PyList_Append(items, projected);
            Py_DECREF(projected);
            if (rc < 0) { Py_DECREF(items); *status = FAILED; return NULL; }
        }
        return items;
    }
    if (PyDict_CheckExact(value)) {
        PyObject *nested = PyDict_New();
        if (nested == NULL) { *status = FAILED; return NULL; }
        int rc = project(value, sel, nested, strict, depth + 1);
        if (rc != VALID) { Py_DECREF(nested); *status = rc; return NULL; }
        return nested;
    }
    return Py_NewRef(value);
}

static int project(PyObject *obj, Sel *sel, PyObject *out, int strict, int depth) {
    for (Py_ssize_t i = 0; i < sel->nfields; i++) {
        SelField *f = &sel->fields[i];
        PyObject *value = PyDict_GetItemWithError(obj, f->data_key); /* borrowed */
        if (value == NULL && PyErr_Occurred()) return FAILED;
        int rc;
        if (value == NULL || value == Py_None) {
            if (strict && !f->is_typename) return INVALID;
            rc = PyDict_SetItem(out, f->rep_key, Py_None);
        } else if (f->sub == NULL) {
            rc = PyDict_SetItem(out, f->rep_key, value);
        } else {
            int status = VALID;
            Py_INCREF(value);
            PyObject *projected = project_value(value, f->sub, strict, depth, &status);
            Py_DECREF(value);
            if (projected == NULL) return status;
            rc = PyDict_SetItem(out, f->rep_key, projected);
            Py_DECREF(projected);
        }
        if (rc < 0) return FAILED;
    }
    if (sel->nfrags) {
        PyObject *typename = PyDict_GetItemWithError(obj, str_typename);
        if (typename == NULL && PyErr_Occurred()) return FAILED;
        if (typename == NULL) typename = Py_None;
        Py_INCREF(typename);
        for (Py_ssize_t i = 0; i < sel->nfrags; i++) {
            int in = PySet_Contains(sel->frags[i].typenames, typename);
            int rc = in <= 0 ? in : project(obj, sel->frags[i].sub, out, strict, depth);
            if (in < 0 || rc == FAILED) { Py_DECREF(typename); return FAILED; }
            if (in && rc == INVALID) { Py_DECREF(typename); return INVALID; }
        }
        Py_DECREF(typename);
    }
    return VALID;
}

/* ---- build ---------------------------------------------------------------------------------- */

/* The representation of `obj` (a new reference), NULL with *skipped set when it has none. */
static PyObject *representation(Recipes *recipes, PyObject *obj, int *skipped) {
    *skipped = 1;
    PyObject *runtime = PyDict_GetItemWithError(obj, str_typename);
    if (runtime == NULL) {
        if (PyErr_Occurred()) return NULL;
        runtime = Py_None;
    }
    PyObject *index = PyDict_GetItemWithError(recipes->by_typename, runtime);
    if (index == NULL) return NULL; /* no recipe (or an unhashable __typename: the error stands) */
    Py_ssize_t i = PyLong_AsSsize_t(index);
    PyObject *rep = PyDict_New();
    if (rep == NULL || PyDict_SetItem(rep, str_typename, recipes->typenames[i]) < 0) goto failed;
    int rc = project(obj, recipes->keys[i], rep, 1, 0);
    if (rc == FAILED) goto failed;
    if (rc == INVALID) { Py_DECREF(rep); return NULL; }
    if (recipes->requires[i] != NULL && project(obj, recipes->requires[i], rep, 0, 0) == FAILED) goto failed;
    if (PyDict_SetItem(rep, str_typename, recipes->typenames[i]) < 0) goto failed;
    *skipped = 0;
    return rep;
failed:
    *skipped = 0;
    Py_XDECREF(rep);
    return NULL;
}

static PyObject *py_build(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 3 || !PyObject_TypeCheck(args[0], &RecipesType) || !PyList_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "build(recipes, objects, positions)");
        return NULL;
    }
    if (json_dumps == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "bind() was not called");
        return NULL;
    }
    Recipes *recipes = (Recipes *)args[0];
    PyObject *objects = args[1];
    PyObject *reps = PyList_New(0), *targets = PyList_New(0), *seen = PyDict_New();
    PyObject *iterator = PyObject_GetIter(args[2]);
    PyObject *item = NULL;
    if (reps == NULL || targets == NULL || seen == NULL || iterator == NULL) goto fail;
    while ((item = PyIter_Next(iterator)) != NULL) {
        Py_ssize_t position = PyLong_AsSsize_t(item);
        if (position == -1 && PyErr_Occurred()) goto fail;
        if (position < 0) position += PyList_GET_SIZE(objects); /* as objects[position] */
        if (position < 0 || position >= PyList_GET_SIZE(objects)) {
            PyErr_SetString(PyExc_IndexError, "list index out of range");
            goto fail;
        }
        PyObject *obj = PyList_GET_ITEM(objects, position);
        if (!PyDict_Check(obj)) {
            PyErr_SetString(PyExc_TypeError, "an entity position must hold an object");
            goto fail;
        }
        Py_INCREF(obj);
        int skipped;
        PyObject *rep = representation(recipes, obj, &skipped);
        Py_DECREF(obj);
        if (rep == NULL) {
            if (!skipped || PyErr_Occurred()) goto fail;
            Py_CLEAR(item);
            continue;
        }
        PyObject *fingerprint = PyObject_CallOneArg(json_dumps, rep);
        if (fingerprint == NULL) { Py_DECREF(rep); goto fail; }
        PyObject *index = PyDict_GetItemWithError(seen, fingerprint); /* borrowed */
        int rc = 0;
        if (index != NULL) {
            PyObject *positions = PyList_GET_ITEM(targets, PyLong_AsSsize_t(index));
            rc = PyList_Append(positions, item);
        } else if (PyErr_Occurred()) {
            rc = -1;
        } else {
            PyObject *at = PyLong_FromSsize_t(PyList_GET_SIZE(reps));
            PyObject *positions = PyList_New(1);
            if (at == NULL || positions == NULL) {
                rc = -1;
            } else {
                PyList_SET_ITEM(positions, 0, Py_NewRef(item));
                rc = PyDict_SetItem(seen, fingerprint, at);
                if (rc == 0) rc = PyList_Append(reps, rep);
                if (rc == 0) rc = PyList_Append(targets, positions);
            }
            Py_XDECREF(at);
            Py_XDECREF(positions);
        }
        Py_DECREF(fingerprint);
        Py_DECREF(rep);
        Py_CLEAR(item);
        if (rc < 0) goto fail;
    }
    if (PyErr_Occurred()) goto fail;
    Py_DECREF(iterator);
    Py_DECREF(seen);
    PyObject *result = PyTuple_Pack(2, reps, targets);
    Py_DECREF(reps);
    Py_DECREF(targets);
    return result;
fail:
    Py_XDECREF(item);
    Py_XDECREF(iterator);
    Py_XDECREF(seen);
    Py_XDECREF(reps);
    Py_XDECREF(targets);
    return NULL;
}

static PyObject *py_bind(PyObject *module, PyObject *dumps) {
    (void)module;
    Py_XSETREF(json_dumps, Py_NewRef(dumps));
    Py_RETURN_NONE;
}

static PyMethodDef methods[] = {
    {"bind", py_bind, METH_O, "bind(dumps): the JSON writer that fingerprints a representation."},
    {"compile", py_compile, METH_O, "compile(entity_reps) -> Recipes: a fetch's recipes compiled for build."},
    {"build", (PyCFunction)(void (*)(void))py_build, METH_FASTCALL,
     "build(recipes, objects, positions) -> (representations, targets): each distinct representation "
     "once, with the positions it answers."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "gateway.execution._representations",
    "The representations of an _entities fetch (see gateway/execution/representations.py).", -1, methods,
};

PyMODINIT_FUNC PyInit__representations(void) {
    if (PyType_Ready(&RecipesType) < 0) return NULL;
    str_typename = PyUnicode_InternFromString("__typename");
    if (str_typename == NULL) return NULL;
    return PyModule_Create(&module_def);
}
