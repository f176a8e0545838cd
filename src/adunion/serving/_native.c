/* The decision's candidate walk in C: the same rules, in the same order, with the same
 * arithmetic as DecisionEngine._walk_python in engine.py (which stays the reference and the
 * fallback where this module is not built). The engine's tests run both and require identical
 * decisions, draw for draw.
 *
 * Why C: a decision walks about twenty candidates, and in CPython each costs 2-3 us of
 * dictionary look-ups, attribute reads and float boxing (the schedule, budget, pacing and
 * frequency rules, the Thompson draw, the shortlist). Here a candidate is a few array reads.
 *
 * What Python prepares (engine.py): a Plan per bucket (its entries as arrays, the targeting
 * bitsets of its head and tail as little-endian bytes of 64-bit words) and, per engine and
 * index, a Gates table of the campaigns (pricing, bid) that caches each campaign's gate for
 * the current minute. Everything that is not per candidate (the slot, bookings, pricing the
 * winner) stays in Python.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

#define TABLE_BITS 10
#define TABLE_SIZE (1 << TABLE_BITS)
#define MAX_DAYS 8

enum { OUTSIDE_SCHEDULE, BUDGET_EXHAUSTED, PAUSED_BY_PACING, ALL_CAPPED, BELOW_FLOOR, REASONS };
static const char *REASON_NAMES[REASONS] = {
    "outside_schedule", "budget_exhausted", "paused_by_pacing", "all_capped", "below_floor",
};
static PyObject *reason_strings[REASONS];
static PyObject *str_day, *str_opens, *str_closes, *str_spend_limit, *str_budget_limit;
static PyObject *str_frequency_cap, *str_frequency_key;
static PyObject *table_bits_arg;

/* --- helpers ------------------------------------------------------------------------------ */

static inline uint64_t word_at(PyObject *bytes, Py_ssize_t i) {
    uint64_t w;
    memcpy(&w, PyBytes_AS_STRING(bytes) + i * 8, 8);
    return w;
}

/* A mask from a dict of bytes (str -> bytes), or NULL when the key is absent. */
static int dict_mask(PyObject *dict, PyObject *key, PyObject **out) {
    *out = NULL;
    if (key == NULL || key == Py_None) return 0;
    PyObject *value = PyDict_GetItemWithError(dict, key);
    if (value == NULL) return PyErr_Occurred() ? -1 : 0;
    if (!PyBytes_Check(value)) {
        PyErr_SetString(PyExc_TypeError, "a targeting mask must be bytes");
        return -1;
    }
    *out = value;
    return 0;
}

/* mapping.get(key) as a new reference in *out (NULL when absent); a dict takes the fast path.
   Returns -1 on error. */
static int lookup(PyObject *mapping, PyObject *key, PyObject **out) {
    PyObject *value;
    *out = NULL;
    if (PyDict_CheckExact(mapping)) {
        value = PyDict_GetItemWithError(mapping, key);
        if (value == NULL) return PyErr_Occurred() ? -1 : 0;
        Py_INCREF(value);
    } else {
        value = PyObject_GetItem(mapping, key);
        if (value == NULL) {
            if (PyErr_ExceptionMatches(PyExc_KeyError)) {
                PyErr_Clear();
                return 0;
            }
            return -1;
        }
    }
    *out = value;
    return 0;
}

/* mapping.get(key, 0) as an int64. */
static int get_int(PyObject *mapping, PyObject *key, int64_t *out) {
    PyObject *value;
    *out = 0;
    if (lookup(mapping, key, &value) < 0) return -1;
    if (value == NULL) return 0;
    long long v = PyLong_AsLongLong(value);
    Py_DECREF(value);
    if (v == -1 && PyErr_Occurred()) return -1;
    *out = v;
    return 0;
}

/* mapping.get(key) as a double; *found = 0 when absent. */
static int get_float(PyObject *mapping, PyObject *key, double *out, int *found) {
    PyObject *value;
    *found = 0;
    if (lookup(mapping, key, &value) < 0) return -1;
    if (value == NULL) return 0;
    double v = PyFloat_AsDouble(value);
    Py_DECREF(value);
    if (v == -1.0 && PyErr_Occurred()) return -1;
    *out = v;
    *found = 1;
    return 0;
}

static void *copy_array(PyObject *bytes, Py_ssize_t count, Py_ssize_t item, const char *what) {
    if (!PyBytes_Check(bytes) || PyBytes_GET_SIZE(bytes) != count * item) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd bytes", what, count * item);
        return NULL;
    }
    void *data = PyMem_Malloc(count * item > 0 ? count * item : 1);
    if (data == NULL) return PyErr_NoMemory();
    memcpy(data, PyBytes_AS_STRING(bytes), count * item);
    return data;
}

/* --- Plan: one bucket ---------------------------------------------------------------------- */

typedef struct {
    Py_ssize_t base;   /* index of the run's first entry */
    Py_ssize_t nwords; /* 64-bit words of each mask */
    PyObject *all, *device, *any_country, *country, *no_keywords, *keyword;
    PyObject *include_any; /* bytes, or NULL when no entry lists sites to include */
    PyObject *include, *exclude;
    int has_keywords, has_exclude;
} Run;

typedef struct {
    PyObject_HEAD
    Py_ssize_t n;
    Py_ssize_t ncampaigns; /* the size of the Gates table its campaign numbers index */
    int32_t *campaign;
    double *creative_p, *sigma, *ucb;
    PyObject *creatives;    /* tuple of CreativeSnapshot */
    PyObject *creative_ids; /* tuple of str */
    Run runs[2];
    int nruns;
} PlanObject;

static void run_clear(Run *run) {
    Py_CLEAR(run->all);
    Py_CLEAR(run->device);
    Py_CLEAR(run->any_country);
    Py_CLEAR(run->country);
    Py_CLEAR(run->no_keywords);
    Py_CLEAR(run->keyword);
    Py_CLEAR(run->include_any);
    Py_CLEAR(run->include);
    Py_CLEAR(run->exclude);
}

static void plan_dealloc(PlanObject *self) {
    PyMem_Free(self->campaign);
    PyMem_Free(self->creative_p);
    PyMem_Free(self->sigma);
    PyMem_Free(self->ucb);
    Py_XDECREF(self->creatives);
    Py_XDECREF(self->creative_ids);
    for (int i = 0; i < self->nruns; i++) run_clear(&self->runs[i]);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static int bytes_of_words(PyObject *value, Py_ssize_t nwords, const char *what) {
    if (!PyBytes_Check(value) || PyBytes_GET_SIZE(value) != nwords * 8) {
        PyErr_Format(PyExc_ValueError, "%s: expected %zd bytes", what, nwords * 8);
        return -1;
    }
    return 0;
}

static int dict_of_words(PyObject *dict, Py_ssize_t nwords, const char *what) {
    if (!PyDict_Check(dict)) {
        PyErr_Format(PyExc_TypeError, "%s: expected a dict", what);
        return -1;
    }
    PyObject *key, *value;
    Py_ssize_t pos = 0;
    while (PyDict_Next(dict, &pos, &key, &value)) {
        if (bytes_of_words(value, nwords, what) < 0) return -1;
    }
    return 0;
}

static int run_init(Run *run, PyObject *spec, Py_ssize_t n) {
    Py_ssize_t nbits;
    PyObject *all, *device, *any_country, *country, *no_keywords, *keyword, *include_any;
    PyObject *include, *exclude;
    if (!PyArg_ParseTuple(spec, "nnO!O!O!O!O!O!OO!O!:run", &run->base, &nbits, &PyBytes_Type,
                          &all, &PyDict_Type, &device, &PyBytes_Type, &any_country,
                          &PyDict_Type, &country, &PyBytes_Type, &no_keywords, &PyDict_Type,
                          &keyword, &include_any, &PyDict_Type, &include, &PyDict_Type,
                          &exclude))
        return -1;
    if (run->base < 0 || nbits < 0 || run->base + nbits > n) {
        PyErr_SetString(PyExc_ValueError, "a run outside the bucket's entries");
        return -1;
    }
    run->nwords = (nbits + 63) / 64;
    if (bytes_of_words(all, run->nwords, "all") < 0 ||
        dict_of_words(device, run->nwords, "device") < 0 ||
        bytes_of_words(any_country, run->nwords, "any_country") < 0 ||
        dict_of_words(country, run->nwords, "country") < 0 ||
        bytes_of_words(no_keywords, run->nwords, "no_keywords") < 0 ||
        dict_of_words(keyword, run->nwords, "keyword") < 0 ||
        (include_any != Py_None && bytes_of_words(include_any, run->nwords, "include_any") < 0) ||
        dict_of_words(include, run->nwords, "include") < 0 ||
        dict_of_words(exclude, run->nwords, "exclude") < 0)
        return -1;
    run->all = Py_NewRef(all);
    run->device = Py_NewRef(device);
    run->any_country = Py_NewRef(any_country);
    run->country = Py_NewRef(country);
    run->no_keywords = Py_NewRef(no_keywords);
    run->keyword = Py_NewRef(keyword);
    run->include_any = include_any == Py_None ? NULL : Py_NewRef(include_any);
    run->include = Py_NewRef(include);
    run->exclude = Py_NewRef(exclude);
    run->has_keywords = PyDict_GET_SIZE(keyword) > 0;
    run->has_exclude = PyDict_GET_SIZE(exclude) > 0;
    return 0;
}

static PyObject *plan_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    PyObject *campaign, *creative_p, *sigma, *ucb, *creatives, *creative_ids, *runs;
    Py_ssize_t ncampaigns;
    if (kwds != NULL && PyDict_GET_SIZE(kwds) > 0) {
        PyErr_SetString(PyExc_TypeError, "Plan takes positional arguments only");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "nO!O!O!O!O!O!O!:Plan", &ncampaigns, &PyBytes_Type, &campaign,
                          &PyBytes_Type,
                          &creative_p, &PyBytes_Type, &sigma, &PyBytes_Type, &ucb,
                          &PyTuple_Type, &creatives, &PyTuple_Type, &creative_ids,
                          &PyTuple_Type, &runs))
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(creatives);
    if (PyTuple_GET_SIZE(creative_ids) != n || PyTuple_GET_SIZE(runs) > 2) {
        PyErr_SetString(PyExc_ValueError, "entries of different lengths, or more than two runs");
        return NULL;
    }
    PlanObject *self = (PlanObject *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    self->n = n;
    self->ncampaigns = ncampaigns;
    self->creatives = Py_NewRef(creatives);
    self->creative_ids = Py_NewRef(creative_ids);
    if ((self->campaign = copy_array(campaign, n, 4, "campaign")) == NULL ||
        (self->creative_p = copy_array(creative_p, n, 8, "creative_p")) == NULL ||
        (self->sigma = copy_array(sigma, n, 8, "sigma")) == NULL ||
        (self->ucb = copy_array(ucb, n, 8, "ucb")) == NULL)
        goto fail;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (self->campaign[i] < 0 || self->campaign[i] >= ncampaigns) {
            PyErr_SetString(PyExc_ValueError, "an entry's campaign number is out of range");
            goto fail;
        }
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(runs); i++) {
        if (run_init(&self->runs[i], PyTuple_GET_ITEM(runs, i), n) < 0) {
            self->nruns = (int)i + 1; /* clear what the failed run took */
            goto fail;
        }
        self->nruns = (int)i + 1;
    }
    return (PyObject *)self;
fail:
    Py_DECREF(self);
    return NULL;
}

static PyTypeObject PlanType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "adunion.serving._native.Plan",
    .tp_basicsize = sizeof(PlanObject),
    .tp_dealloc = (destructor)plan_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "One bucket's entries and targeting bitsets, for walk().",
    .tp_new = plan_new,
};

/* --- Gates: the campaigns of one index, with this minute's gates -------------------------- */

typedef struct {
    PyObject_HEAD
    Py_ssize_t n;
    PyObject *campaigns; /* tuple of CampaignSnapshot */
    PyObject *ids;       /* tuple of str */
    unsigned char *cpc;
    int64_t *bid;
    /* The gate cache: valid where stamp == the minute asked for. */
    int64_t *stamp;
    double *opens, *closes;
    unsigned char *has_limit, *has_budget;
    int64_t *limit, *budget, *cap; /* cap < 0: no frequency cap */
    PyObject **day, **frequency_key;
    /* Per-walk scratch: a campaign failed (or is shortlisted at pos) in walk number `call`. */
    uint64_t call;
    uint64_t *failed, *listed;
    int32_t *pos;
    int busy;
    double normal[TABLE_SIZE];
} GatesObject;

static void gates_dealloc(GatesObject *self) {
    if (self->day != NULL)
        for (Py_ssize_t i = 0; i < self->n; i++) Py_XDECREF(self->day[i]);
    if (self->frequency_key != NULL)
        for (Py_ssize_t i = 0; i < self->n; i++) Py_XDECREF(self->frequency_key[i]);
    PyMem_Free(self->day);
    PyMem_Free(self->frequency_key);
    PyMem_Free(self->cpc);
    PyMem_Free(self->bid);
    PyMem_Free(self->stamp);
    PyMem_Free(self->opens);
    PyMem_Free(self->closes);
    PyMem_Free(self->has_limit);
    PyMem_Free(self->has_budget);
    PyMem_Free(self->limit);
    PyMem_Free(self->budget);
    PyMem_Free(self->cap);
    PyMem_Free(self->failed);
    PyMem_Free(self->listed);
    PyMem_Free(self->pos);
    Py_XDECREF(self->campaigns);
    Py_XDECREF(self->ids);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

static PyObject *gates_new(PyTypeObject *type, PyObject *args, PyObject *kwds) {
    PyObject *campaigns, *ids, *cpc, *bid, *normal;
    if (kwds != NULL && PyDict_GET_SIZE(kwds) > 0) {
        PyErr_SetString(PyExc_TypeError, "Gates takes positional arguments only");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "O!O!O!O!O!:Gates", &PyTuple_Type, &campaigns, &PyTuple_Type,
                          &ids, &PyBytes_Type, &cpc, &PyBytes_Type, &bid, &PyTuple_Type,
                          &normal))
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(campaigns);
    if (PyTuple_GET_SIZE(ids) != n || PyTuple_GET_SIZE(normal) != TABLE_SIZE) {
        PyErr_SetString(PyExc_ValueError, "ids must match campaigns; the table has 1024 values");
        return NULL;
    }
    GatesObject *self = (GatesObject *)type->tp_alloc(type, 0);
    if (self == NULL) return NULL;
    self->n = n;
    self->campaigns = Py_NewRef(campaigns);
    self->ids = Py_NewRef(ids);
    for (Py_ssize_t i = 0; i < TABLE_SIZE; i++) {
        self->normal[i] = PyFloat_AsDouble(PyTuple_GET_ITEM(normal, i));
        if (self->normal[i] == -1.0 && PyErr_Occurred()) goto fail;
    }
    if ((self->cpc = copy_array(cpc, n, 1, "cpc")) == NULL ||
        (self->bid = copy_array(bid, n, 8, "bid")) == NULL)
        goto fail;
    Py_ssize_t size = n > 0 ? n : 1;
    self->stamp = PyMem_Malloc(size * sizeof(int64_t));
    self->opens = PyMem_Calloc(size, sizeof(double));
    self->closes = PyMem_Calloc(size, sizeof(double));
    self->has_limit = PyMem_Calloc(size, 1);
    self->has_budget = PyMem_Calloc(size, 1);
    self->limit = PyMem_Calloc(size, sizeof(int64_t));
    self->budget = PyMem_Calloc(size, sizeof(int64_t));
    self->cap = PyMem_Calloc(size, sizeof(int64_t));
    self->day = PyMem_Calloc(size, sizeof(PyObject *));
    self->frequency_key = PyMem_Calloc(size, sizeof(PyObject *));
    self->failed = PyMem_Calloc(size, sizeof(uint64_t));
    self->listed = PyMem_Calloc(size, sizeof(uint64_t));
    self->pos = PyMem_Calloc(size, sizeof(int32_t));
    if (!self->stamp || !self->opens || !self->closes || !self->has_limit ||
        !self->has_budget || !self->limit || !self->budget ||
        !self->cap || !self->day || !self->frequency_key || !self->failed || !self->listed ||
        !self->pos) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) self->stamp[i] = INT64_MIN;
    return (PyObject *)self;
fail:
    Py_DECREF(self);
    return NULL;
}

static PyTypeObject GatesType = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "adunion.serving._native.Gates",
    .tp_basicsize = sizeof(GatesObject),
    .tp_dealloc = (destructor)gates_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "An index's campaigns and the gate of each for the current minute, for walk().",
    .tp_new = gates_new,
};

/* An int attribute that may be None: kind 0 for None, else 1 with the value. */
static int optional_int(PyObject *value, unsigned char *kind, int64_t *out) {
    if (value == Py_None) {
        *kind = 0;
        return 0;
    }
    long long v = PyLong_AsLongLong(value);
    if (v == -1 && PyErr_Occurred()) return -1;
    *kind = 1;
    *out = v;
    return 0;
}

/* engine.gate(campaign, now, minute) read into the cache. */
static int load_gate(GatesObject *g, Py_ssize_t c, PyObject *gate_fn, PyObject *now,
                     PyObject *minute_obj, int64_t minute) {
    PyObject *args[3] = {PyTuple_GET_ITEM(g->campaigns, c), now, minute_obj};
    PyObject *gate = PyObject_Vectorcall(gate_fn, args, 3, NULL);
    if (gate == NULL) return -1;
    PyObject *day = NULL, *opens = NULL, *closes = NULL, *limit = NULL, *budget = NULL;
    PyObject *cap = NULL, *key = NULL;
    int result = -1;
    if ((day = PyObject_GetAttr(gate, str_day)) == NULL ||
        (opens = PyObject_GetAttr(gate, str_opens)) == NULL ||
        (closes = PyObject_GetAttr(gate, str_closes)) == NULL ||
        (limit = PyObject_GetAttr(gate, str_spend_limit)) == NULL ||
        (budget = PyObject_GetAttr(gate, str_budget_limit)) == NULL ||
        (cap = PyObject_GetAttr(gate, str_frequency_cap)) == NULL ||
        (key = PyObject_GetAttr(gate, str_frequency_key)) == NULL)
        goto done;
    double o = PyFloat_AsDouble(opens), e = PyFloat_AsDouble(closes);
    if (PyErr_Occurred()) goto done;
    unsigned char has_limit, has_budget, has_cap;
    int64_t limit_value = 0, budget_value = 0, cap_value = 0;
    if (optional_int(limit, &has_limit, &limit_value) < 0 ||
        optional_int(budget, &has_budget, &budget_value) < 0 ||
        optional_int(cap, &has_cap, &cap_value) < 0)
        goto done;
    g->opens[c] = o;
    g->closes[c] = e;
    g->has_limit[c] = has_limit;
    g->limit[c] = limit_value;
    g->has_budget[c] = has_budget;
    g->budget[c] = budget_value;
    g->cap[c] = has_cap ? (cap_value < 0 ? 0 : cap_value) : -1;
    Py_XSETREF(g->day[c], Py_NewRef(day));
    Py_XSETREF(g->frequency_key[c], Py_NewRef(key));
    g->stamp[c] = minute;
    result = 0;
done:
    Py_XDECREF(day);
    Py_XDECREF(opens);
    Py_XDECREF(closes);
    Py_XDECREF(limit);
    Py_XDECREF(budget);
    Py_XDECREF(cap);
    Py_XDECREF(key);
    Py_DECREF(gate);
    return result;
}

/* --- walk -------------------------------------------------------------------------------- */

typedef struct {
    double score, ucb;
    Py_ssize_t campaign, entry;
} Candidate;

typedef struct {
    PyObject *day[MAX_DAYS];
    PyObject *spend[MAX_DAYS];
    int count;
} DaySpend;

static void day_spend_clear(DaySpend *days) {
    for (int i = 0; i < days->count; i++) {
        Py_DECREF(days->day[i]);
        Py_DECREF(days->spend[i]);
    }
    days->count = 0;
}

/* spend_on(day), asked once per day per walk (as the Python walk does). */
static PyObject *spend_for(DaySpend *days, PyObject *spend_on, PyObject *day) {
    for (int i = 0; i < days->count; i++) {
        if (days->day[i] == day) return days->spend[i];
    }
    for (int i = 0; i < days->count; i++) {
        int same = PyObject_RichCompareBool(days->day[i], day, Py_EQ);
        if (same < 0) return NULL;
        if (same) return days->spend[i];
    }
    PyObject *spend = PyObject_CallOneArg(spend_on, day);
    if (spend == NULL) return NULL;
    if (days->count == MAX_DAYS) { /* more local days than time zones allow: keep no cache */
        day_spend_clear(days);
    }
    days->day[days->count] = Py_NewRef(day);
    days->spend[days->count] = spend;
    days->count++;
    return spend;
}

/* The view's targeting mask over one run, into mask[0..nwords). */
static int run_mask(Run *run, uint64_t *mask, PyObject *device, PyObject *country,
                    PyObject *keywords, PyObject *site_id) {
    Py_ssize_t nw = run->nwords;
    PyObject *device_mask, *country_mask, *include_mask, *exclude_mask;
    if (dict_mask(run->device, device, &device_mask) < 0) return -1;
    if (device_mask == NULL) device_mask = run->all; /* Targets.device.get(view.device, all) */
    for (Py_ssize_t w = 0; w < nw; w++) mask[w] = word_at(run->all, w) & word_at(device_mask, w);
    if (dict_mask(run->country, country, &country_mask) < 0) return -1;
    for (Py_ssize_t w = 0; w < nw; w++) {
        uint64_t allowed = word_at(run->any_country, w);
        if (country_mask != NULL) allowed |= word_at(country_mask, w);
        mask[w] &= allowed;
    }
    if (run->has_keywords) {
        uint64_t stack_words[64];
        uint64_t *words = nw <= 64 ? stack_words : PyMem_Malloc(nw * sizeof(uint64_t));
        if (words == NULL) {
            PyErr_NoMemory();
            return -1;
        }
        for (Py_ssize_t w = 0; w < nw; w++) words[w] = word_at(run->no_keywords, w);
        PyObject *iterator = PyObject_GetIter(keywords), *word;
        if (iterator == NULL) goto keywords_failed;
        while ((word = PyIter_Next(iterator)) != NULL) {
            PyObject *keyword_mask;
            int failed = dict_mask(run->keyword, word, &keyword_mask);
            Py_DECREF(word);
            if (failed < 0) {
                Py_DECREF(iterator);
                goto keywords_failed;
            }
            if (keyword_mask != NULL)
                for (Py_ssize_t w = 0; w < nw; w++) words[w] |= word_at(keyword_mask, w);
        }
        Py_DECREF(iterator);
        if (PyErr_Occurred()) goto keywords_failed;
        for (Py_ssize_t w = 0; w < nw; w++) mask[w] &= words[w];
        if (words != stack_words) PyMem_Free(words);
        goto keywords_done;
    keywords_failed:
        if (words != stack_words) PyMem_Free(words);
        return -1;
    }
keywords_done:
    if (run->include_any != NULL) {
        if (dict_mask(run->include, site_id, &include_mask) < 0) return -1;
        for (Py_ssize_t w = 0; w < nw; w++) {
            uint64_t allowed = ~word_at(run->include_any, w);
            if (include_mask != NULL) allowed |= word_at(include_mask, w);
            mask[w] &= allowed;
        }
    }
    if (run->has_exclude) {
        if (dict_mask(run->exclude, site_id, &exclude_mask) < 0) return -1;
        if (exclude_mask != NULL)
            for (Py_ssize_t w = 0; w < nw; w++) mask[w] &= ~word_at(exclude_mask, w);
    }
    return 0;
}

typedef struct {
    GatesObject *g;
    PlanObject *plan;
    PyObject *device, *country, *keywords, *site_id;
    double moment;
    int64_t minute;
    PyObject *minute_obj, *now, *gate_fn, *spend_on, *frequency_fn, *visitor;
    PyObject *slot_history; /* dict, or NULL */
    double slot_scale;
    PyObject *bits;
    int64_t floor;
    Py_ssize_t wanted;
} WalkArgs;

typedef struct {
    Py_ssize_t considered;
    Py_ssize_t failures[REASONS];
    int failure_order[REASONS];
    int failure_kinds;
    Candidate *shortlist;
    Py_ssize_t listed;
} WalkResult;

static void add_failure(WalkResult *r, int reason) {
    if (r->failures[reason]++ == 0) r->failure_order[r->failure_kinds++] = reason;
}

/* The Thompson draw: creative_p (x the pair's factor) x exp(sigma x a normal quantile). */
static int draw_index(PyObject *bits, Py_ssize_t *index) {
    PyObject *args[1] = {table_bits_arg};
    PyObject *value = PyObject_Vectorcall(bits, args, 1, NULL);
    if (value == NULL) return -1;
    Py_ssize_t i = PyLong_AsSsize_t(value);
    Py_DECREF(value);
    if (i == -1 && PyErr_Occurred()) return -1;
    if (i < 0 || i >= TABLE_SIZE) {
        PyErr_SetString(PyExc_ValueError, "a draw outside the quantile table");
        return -1;
    }
    *index = i;
    return 0;
}

static int walk_candidates(WalkArgs *a, WalkResult *r) {
    GatesObject *g = a->g;
    PlanObject *plan = a->plan;
    uint64_t call = ++g->call;
    DaySpend days = {.count = 0};
    PyObject *frequency = NULL;
    int frequency_read = 0, frequency_empty = 1;
    int full = a->wanted <= 0;
    double floor_value = (double)a->floor;
    int result = -1;
    uint64_t stack_mask[128];
    uint64_t *mask = stack_mask;
    Py_ssize_t mask_words = 128;

    for (int run_index = 0; run_index < plan->nruns && !full; run_index++) {
        Run *run = &plan->runs[run_index];
        if (run->nwords > mask_words) {
            if (mask != stack_mask) PyMem_Free(mask);
            mask = PyMem_Malloc(run->nwords * sizeof(uint64_t));
            if (mask == NULL) {
                mask = stack_mask;
                PyErr_NoMemory();
                goto done;
            }
            mask_words = run->nwords;
        }
        if (run_mask(run, mask, a->device, a->country, a->keywords, a->site_id) < 0) goto done;
        for (Py_ssize_t w = 0; w < run->nwords && !full; w++) {
            uint64_t word = mask[w];
            while (word) {
                int bit = __builtin_ctzll(word);
                word &= word - 1;
                Py_ssize_t e = run->base + w * 64 + bit;
                Py_ssize_t c = plan->campaign[e];
                if (g->failed[c] == call) continue;
                r->considered++;
                if (g->stamp[c] != a->minute &&
                    load_gate(g, c, a->gate_fn, a->now, a->minute_obj, a->minute) < 0)
                    goto done;
                int reason = -1;
                if (!(g->opens[c] <= a->moment && a->moment < g->closes[c])) {
                    reason = OUTSIDE_SCHEDULE;
                } else {
                    if (g->has_limit[c]) {
                        PyObject *spend = spend_for(&days, a->spend_on, g->day[c]);
                        int64_t spent;
                        if (spend == NULL || get_int(spend, PyTuple_GET_ITEM(g->ids, c), &spent) < 0)
                            goto done;
                        if (spent > g->limit[c])
                            reason = g->has_budget[c] && spent > g->budget[c] ? BUDGET_EXHAUSTED
                                                                              : PAUSED_BY_PACING;
                    }
                    if (reason < 0 && g->cap[c] >= 0) {
                        if (!frequency_read) {
                            frequency = PyObject_CallOneArg(a->frequency_fn, a->visitor);
                            if (frequency == NULL) goto done;
                            frequency_read = 1;
                            int truth = PyObject_IsTrue(frequency);
                            if (truth < 0) goto done;
                            frequency_empty = !truth;
                        }
                        if (!frequency_empty) {
                            int64_t seen;
                            if (get_int(frequency, g->frequency_key[c], &seen) < 0) goto done;
                            if (seen >= g->cap[c]) reason = ALL_CAPPED;
                        }
                    }
                }
                if (reason < 0) {
                    double score, ucb;
                    double bid = (double)g->bid[c];
                    if (g->cpc[c]) {
                        double history = 1.0;
                        int has_history = 0;
                        if (a->slot_history != NULL &&
                            get_float(a->slot_history, PyTuple_GET_ITEM(plan->creative_ids, e),
                                      &history, &has_history) < 0)
                            goto done;
                        double sigma = plan->sigma[e];
                        double p = has_history ? plan->creative_p[e] * history : plan->creative_p[e];
                        if (sigma != 0.0) {
                            Py_ssize_t i;
                            if (draw_index(a->bits, &i) < 0) goto done;
                            p *= exp(sigma * g->normal[i]);
                        }
                        if (!(p < 1.0)) p = 1.0;
                        ucb = p * a->slot_scale;
                        if (ucb > 1.0) ucb = 1.0;
                        score = bid * ucb * 1000.0;
                        if (score < floor_value && sigma != 0.0) {
                            /* A draw below the floor: held against the optimistic estimate. */
                            double top = plan->ucb[e] * (has_history ? history : 1.0) * a->slot_scale;
                            double optimistic = top < 1.0 ? top : 1.0;
                            if (bid * optimistic * 1000.0 >= floor_value) {
                                ucb = floor_value / (bid * 1000.0);
                                score = floor_value;
                            }
                        }
                    } else {
                        ucb = 0.0;
                        score = bid;
                    }
                    if (score >= floor_value) {
                        if (g->listed[c] == call) {
                            Candidate *best = &r->shortlist[g->pos[c]];
                            if (score > best->score) {
                                best->score = score;
                                best->ucb = ucb;
                                best->entry = e;
                            }
                        } else {
                            g->listed[c] = call;
                            g->pos[c] = (int32_t)r->listed;
                            r->shortlist[r->listed++] = (Candidate){score, ucb, c, e};
                            if (r->listed >= a->wanted) {
                                full = 1;
                                break;
                            }
                        }
                        continue;
                    }
                    reason = BELOW_FLOOR;
                }
                add_failure(r, reason);
                if (reason != BELOW_FLOOR) g->failed[c] = call;
            }
        }
    }
    result = 0;
done:
    if (mask != stack_mask) PyMem_Free(mask);
    day_spend_clear(&days);
    Py_XDECREF(frequency);
    return result;
}

static PyObject *candidate_tuple(WalkArgs *a, Candidate *candidate) {
    return Py_BuildValue("(dOOd)", candidate->score,
                         PyTuple_GET_ITEM(a->g->campaigns, candidate->campaign),
                         PyTuple_GET_ITEM(a->plan->creatives, candidate->entry), candidate->ucb);
}

/* (considered, failures, tied, second): the best score's candidates (a tie: several, in
 * shortlist order) and the next best score (None when there is none). */
static PyObject *walk_result(WalkArgs *a, WalkResult *r) {
    PyObject *failures = PyDict_New(), *tied = NULL, *second_obj = NULL, *result = NULL;
    if (failures == NULL) return NULL;
    for (int k = 0; k < r->failure_kinds; k++) {
        int reason = r->failure_order[k];
        PyObject *count = PyLong_FromSsize_t(r->failures[reason]);
        if (count == NULL || PyDict_SetItem(failures, reason_strings[reason], count) < 0) {
            Py_XDECREF(count);
            goto done;
        }
        Py_DECREF(count);
    }
    double top = -1.0, second = 0.0;
    int has_second = 0;
    Py_ssize_t first_tied = -1, ntied = 0;
    for (Py_ssize_t i = 0; i < r->listed; i++) {
        double score = r->shortlist[i].score;
        if (score > top) {
            if (ntied) {
                second = top;
                has_second = 1;
            }
            top = score;
            first_tied = i;
            ntied = 1;
        } else if (score == top) {
            ntied++;
        } else if (!has_second || score > second) {
            second = score;
            has_second = 1;
        }
    }
    tied = PyList_New(0);
    if (tied == NULL) goto done;
    for (Py_ssize_t i = first_tied; ntied && i < r->listed; i++) {
        if (r->shortlist[i].score != top) continue;
        PyObject *candidate = candidate_tuple(a, &r->shortlist[i]);
        if (candidate == NULL || PyList_Append(tied, candidate) < 0) {
            Py_XDECREF(candidate);
            goto done;
        }
        Py_DECREF(candidate);
    }
    second_obj = has_second ? PyFloat_FromDouble(second) : Py_NewRef(Py_None);
    if (second_obj == NULL) goto done;
    result = Py_BuildValue("(nOOO)", r->considered, failures, tied, second_obj);
done:
    Py_DECREF(failures);
    Py_XDECREF(tied);
    Py_XDECREF(second_obj);
    return result;
}

PyDoc_STRVAR(walk_doc,
"walk(gates, plan, device, country, keywords, site_id, moment, minute, now, gate, spend_on,\n"
"     frequency, visitor, slot_history, slot_scale, bits, floor, wanted)\n"
"--\n\n"
"The candidate walk of one decision (see DecisionEngine._walk_python): returns\n"
"(considered, failures, tied, second), or NotImplemented while another walk uses `gates`.");

static PyObject *walk(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    if (nargs != 18) {
        PyErr_SetString(PyExc_TypeError, "walk takes 18 arguments");
        return NULL;
    }
    if (!PyObject_TypeCheck(args[0], &GatesType) || !PyObject_TypeCheck(args[1], &PlanType)) {
        PyErr_SetString(PyExc_TypeError, "walk(gates: Gates, plan: Plan, ...)");
        return NULL;
    }
    WalkArgs a = {
        .g = (GatesObject *)args[0],
        .plan = (PlanObject *)args[1],
        .device = args[2],
        .country = args[3],
        .keywords = args[4],
        .site_id = args[5],
        .minute_obj = args[7],
        .now = args[8],
        .gate_fn = args[9],
        .spend_on = args[10],
        .frequency_fn = args[11],
        .visitor = args[12],
        .slot_history = args[13] == Py_None ? NULL : args[13],
        .bits = args[15],
    };
    a.moment = PyFloat_AsDouble(args[6]);
    a.minute = PyLong_AsLongLong(args[7]);
    a.slot_scale = PyFloat_AsDouble(args[14]);
    a.floor = PyLong_AsLongLong(args[16]);
    a.wanted = PyLong_AsSsize_t(args[17]);
    if (PyErr_Occurred()) return NULL;
    if (a.g->busy) Py_RETURN_NOTIMPLEMENTED; /* re-entered from a callback, or another thread */
    if (a.plan->ncampaigns != a.g->n) {
        PyErr_SetString(PyExc_ValueError, "the plan and the gates belong to different indexes");
        return NULL;
    }
    Py_ssize_t capacity = a.wanted < a.g->n ? a.wanted : a.g->n;
    if (capacity < 1) capacity = 1;
    Candidate stack_shortlist[32];
    WalkResult r = {.considered = 0, .failure_kinds = 0, .listed = 0};
    memset(r.failures, 0, sizeof(r.failures));
    r.shortlist = capacity <= 32 ? stack_shortlist : PyMem_Malloc(capacity * sizeof(Candidate));
    if (r.shortlist == NULL) return PyErr_NoMemory();
    a.g->busy = 1;
    Py_INCREF(a.g); /* a callback may drop the engine's last reference to it */
    Py_INCREF(a.plan);
    PyObject *result = walk_candidates(&a, &r) < 0 ? NULL : walk_result(&a, &r);
    a.g->busy = 0;
    Py_DECREF(a.plan);
    Py_DECREF(a.g);
    if (r.shortlist != stack_shortlist) PyMem_Free(r.shortlist);
    return result;
}

static PyMethodDef methods[] = {
    {"walk", (PyCFunction)(void (*)(void))walk, METH_FASTCALL, walk_doc},
    {NULL, NULL, 0, NULL},
};

static int exec_module(PyObject *module) {
    for (int i = 0; i < REASONS; i++) {
        reason_strings[i] = PyUnicode_InternFromString(REASON_NAMES[i]);
        if (reason_strings[i] == NULL) return -1;
    }
    if ((str_day = PyUnicode_InternFromString("day")) == NULL ||
        (str_opens = PyUnicode_InternFromString("opens")) == NULL ||
        (str_closes = PyUnicode_InternFromString("closes")) == NULL ||
        (str_spend_limit = PyUnicode_InternFromString("spend_limit")) == NULL ||
        (str_budget_limit = PyUnicode_InternFromString("budget_limit")) == NULL ||
        (str_frequency_cap = PyUnicode_InternFromString("frequency_cap")) == NULL ||
        (str_frequency_key = PyUnicode_InternFromString("frequency_key")) == NULL ||
        (table_bits_arg = PyLong_FromLong(TABLE_BITS)) == NULL)
        return -1;
    if (PyType_Ready(&PlanType) < 0 || PyType_Ready(&GatesType) < 0) return -1;
    if (PyModule_AddObjectRef(module, "Plan", (PyObject *)&PlanType) < 0 ||
        PyModule_AddObjectRef(module, "Gates", (PyObject *)&GatesType) < 0 ||
        PyModule_AddIntConstant(module, "TABLE_SIZE", TABLE_SIZE) < 0)
        return -1;
    return 0;
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
    {0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "adunion.serving._native",
    .m_doc = "The decision's candidate walk, compiled (see engine.py).",
    .m_size = 0,
    .m_methods = methods,
    .m_slots = slots,
};

PyMODINIT_FUNC PyInit__native(void) { return PyModuleDef_Init(&module_def); }
