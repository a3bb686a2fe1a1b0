"""The context-dependent rules, checked by walking every function of the project and, through calls, the
functions it reaches with what the call site knows: which arrays are banked, which pointers are m_axi
ports, which loop is pipelined, which loops are unrolled (every loop nested in a pipelined one is), which
values are runtime and which differ per unrolled copy. A finding reached through calls is reported at the
call site inside the loop that causes it (the anchor), naming the access it found."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace

from . import clang_ast as ca
from .findings import Finding
from .pragmas import Banking, array_banking
from .project import Project
from .values import CONSTANT, RUNTIME, VARYING, Index, add, join, modulo, multiply

MAX_DEPTH = 16
SHIFTS = ("<<", ">>", "<<=", ">>=")
DIVISIONS = ("/", "%", "/=", "%=")
ASSIGNMENTS = ("=", "+=", "-=", "*=", "|=", "&=", "^=", "<<=", ">>=", "/=", "%=")
PASS_THROUGH = ("UNEXPOSED_EXPR", "PAREN_EXPR", "CSTYLE_CAST_EXPR", "CXX_FUNCTIONAL_CAST_EXPR",
                "CXX_STATIC_CAST_EXPR", "CXX_REINTERPRET_CAST_EXPR", "CXX_CONST_CAST_EXPR")
CONSTANT_DECLS = ("ENUM_CONSTANT_DECL", "TEMPLATE_NON_TYPE_PARAMETER", "FUNCTION_DECL", "FUNCTION_TEMPLATE",
                  "OVERLOADED_DECL_REF")
_frame_ids = itertools.count(1)


@dataclass(frozen=True)
class Binding:
    """What a parameter is bound to at the call site."""

    index: Index
    banking: dict[int, Banking] | None = None
    maxi: bool = False
    axilite: bool = False  # an s_axilite array of the top (the descriptor table)
    alias: tuple[str, int] | None = None  # the caller's variable (by declaration) for a whole-variable argument
    carried: bool = False  # that variable lives across the iterations of the pipelined loop


@dataclass
class Frame:
    function: object
    params: dict[tuple[str, int], Binding] = field(default_factory=dict)
    arrays: dict[tuple[str, int], dict[int, Banking]] = field(default_factory=dict)
    maxi: set[tuple[str, int]] = field(default_factory=set)
    axilite: set[tuple[str, int]] = field(default_factory=set)
    ident: int = field(default_factory=lambda: next(_frame_ids))


@dataclass(frozen=True)
class Context:
    pipeline: str | None = None  # label of the innermost pipelined loop
    pipeline_frame: int = 0
    pipeline_start: int = -1  # offset of that loop: locals declared before it are carried
    unrolled: frozenset = frozenset()  # declarations of the counters of enclosing unrolled loops
    unroll_label: str | None = None
    unroll_trip: int | None = None  # product of the unrolled loops' trip counts (None: unknown)
    conditional: bool = False  # under a condition inside the pipelined loop
    copy: bool = False  # the right-hand side of the copy of an s_axilite array into registers
    anchor: ca.Where | None = None
    stack: tuple[str, ...] = ()


def strip(cursor):
    while ca.kind(cursor) in PASS_THROUGH and len(ca.expr_children(cursor)) == 1:
        cursor = ca.expr_children(cursor)[0]
    return cursor


def subscripts(cursor) -> tuple[object, list]:
    """base, [index of dim 1, dim 2, ...] of a chain of array subscripts."""
    indices = []
    cursor = strip(cursor)
    while ca.kind(cursor) == "ARRAY_SUBSCRIPT_EXPR":
        base, index = ca.children(cursor)[:2]
        indices.insert(0, index)
        cursor = strip(base)
    return cursor, indices


def initializer(decl):
    exprs = [c for c in decl.get_children() if not ca.kind(c).endswith("_REF") and ca.kind(c) != "INIT_LIST_EXPR"]
    return exprs[-1] if exprs else None


class Walker:
    def __init__(self, project: Project):
        self.project = project
        self.tokens = project.tokens
        self.findings: set[Finding] = set()

    # ---- reporting -------------------------------------------------------------------------

    def report(self, cursor, ctx: Context, rule: str, message: str) -> None:
        at = ca.where(cursor)
        if ctx.anchor is not None:
            message += f" (at {self.project.relative(at.file)}:{at.line})"
            at = ctx.anchor
        self.findings.add(Finding(self.project.relative(at.file), at.line, rule, message))

    # ---- values ----------------------------------------------------------------------------

    def variable(self, ref, frame: Frame, ctx: Context) -> Index:
        k = ca.kind(ref)
        key = ca.decl_key(ref)
        if k == "PARM_DECL":
            binding = frame.params.get(key)
            return binding.index if binding is not None else RUNTIME
        if k == "VAR_DECL":
            if key in ctx.unrolled:
                return VARYING
            init = initializer(ref)
            if ref.type.is_const_qualified() and init is not None:
                return self.classify(init, frame, ctx)
            return RUNTIME
        return CONSTANT if k in CONSTANT_DECLS else RUNTIME

    def classify(self, cursor, frame: Frame, ctx: Context) -> Index:
        cursor = strip(cursor)
        k = ca.kind(cursor)
        if k in ("INTEGER_LITERAL", "CXX_BOOL_LITERAL_EXPR", "CHARACTER_LITERAL", "CXX_UNARY_EXPR"):
            return CONSTANT
        if k == "DECL_REF_EXPR":
            ref = cursor.referenced
            if ref is None:  # a name in a dependent scope: C::TM, EngineTypes<C>::LANES
                return CONSTANT if not cursor.spelling else RUNTIME
            return self.variable(ref, frame, ctx)
        if k in ("MEMBER_REF_EXPR", "ARRAY_SUBSCRIPT_EXPR"):
            return RUNTIME
        binary = ca.binary_operator(cursor, self.tokens)
        if binary is not None:
            op, lhs, rhs = binary
            a, b = self.classify(lhs, frame, ctx), self.classify(rhs, frame, ctx)
            if op in ("+", "-"):
                return add([a, b])
            if op == "*":
                return multiply(a, self.tokens.text(lhs), b, self.tokens.text(rhs))
            if op == "%":
                return modulo(a, b, self.tokens.text(rhs))
            return join([a, b])
        unary = ca.unary_operator(cursor, self.tokens)
        if unary is not None:
            op, operand = unary
            value = self.classify(operand, frame, ctx)
            return value if op in ("-", "+") else join([value, RUNTIME]) if op in ("++", "--") else join([value])
        if k == "CALL_EXPR" and ca.is_method_call(cursor):
            return RUNTIME
        parts = [self.classify(c, frame, ctx) for c in ca.expr_children(cursor)]
        if k == "CALL_EXPR" and not parts:
            return CONSTANT  # a function of nothing (constexpr helpers such as item_width<C>())
        return join(parts) if parts else RUNTIME

    def resolve(self, ref, frame: Frame, ctx: Context) -> tuple[tuple[str, int], bool]:
        """(declaration, carried) of the variable a name refers to, following reference parameters."""
        key = ca.decl_key(ref)
        if ca.kind(ref) == "PARM_DECL":
            binding = frame.params.get(key)
            if binding is not None and binding.alias is not None:
                return binding.alias, binding.carried
            return key, frame.ident == ctx.pipeline_frame
        static = ref.storage_class.name == "STATIC"
        before = frame.ident == ctx.pipeline_frame and ref.extent.start.offset < ctx.pipeline_start
        return key, static or before

    def signed_amount(self, cursor, frame: Frame, ctx: Context) -> bool:
        sign = ca.signedness(strip(cursor))
        if sign:
            return sign == "signed"
        for d in cursor.walk_preorder():
            if ca.kind(d) == "DECL_REF_EXPR" and d.referenced is not None and ca.signedness(d) == "signed" \
                    and self.variable(d.referenced, frame, ctx).runtime:
                return True
        return False

    # ---- rules -----------------------------------------------------------------------------

    def check_access(self, cursor, frame: Frame, ctx: Context) -> None:
        base, indices = subscripts(cursor)
        if ca.kind(base) != "DECL_REF_EXPR" or base.referenced is None:
            return
        key = ca.decl_key(base.referenced)
        if key in frame.axilite and not ctx.copy:
            self.report(cursor, ctx, "axilite-array",
                        f"`{self.tokens.display(cursor)}` reads s_axilite array `{base.spelling}` where it is used: a "
                        "read of the AXI-Lite adapter's RAM (one port) in the unit's schedule; copy the step's words "
                        "into a completely partitioned array once (a pipelined loop) and read them there")
        if key in frame.maxi and ctx.pipeline is not None and ctx.conditional:
            self.report(cursor, ctx, "maxi-conditional",
                        f"m_axi port `{base.spelling}` accessed under a condition in pipelined loop '{ctx.pipeline}': "
                        "no burst is inferred; move the access out of the branch (one word per iteration)")
        banking = frame.arrays.get(key)
        if banking is None or ctx.unroll_label is None or ctx.unroll_trip == 1:
            return
        banks = []
        for dim, index in enumerate(indices, 1):
            split = banking.get(dim) or banking.get(0)
            if split is not None:
                value = self.classify(index, frame, ctx)
                if split.style == "cyclic":
                    value = next((modulo(value, CONSTANT, f) for f in self.project.spellings(split.factor)
                                  if f in value.multiples), modulo(value, CONSTANT, split.factor))
                banks.append((dim, value))
        runtime = [dim for dim, v in banks if v.runtime]
        if runtime and not any(v.distinct_per_copy for _, v in banks):
            dims = ", ".join(str(d) for d in runtime)
            access = self.tokens.display(cursor)
            self.report(cursor, ctx, "runtime-bank",
                        f"`{access}`: the bank of partitioned `{base.spelling}` (dim {dims}) is chosen at run time "
                        f"in every copy of unrolled loop '{ctx.unroll_label}': every bank serves every copy "
                        "(a crossbar; II >= copies on memory banks)")

    def check_operator(self, cursor, op: str, lhs, rhs, frame: Frame, ctx: Context) -> None:
        expr, amount = self.tokens.display(cursor), self.tokens.display(rhs)
        if op in SHIFTS and self.classify(rhs, frame, ctx).runtime and self.signed_amount(rhs, frame, ctx):
            at = ca.where(cursor)  # a property of the expression, whatever the context: no anchor
            self.findings.add(Finding(
                self.project.relative(at.file), at.line, "signed-shift",
                f"`{expr}` shifts by `{amount}`, a signed runtime amount: a shifter in both directions plus a sign "
                "test; make the amount unsigned"))
        if op in DIVISIONS and ctx.pipeline is not None and self.classify(rhs, frame, ctx).runtime:
            self.report(cursor, ctx, "pipelined-division",
                        f"`{expr}` divides by runtime `{amount}` in pipelined loop '{ctx.pipeline}': a multi-cycle "
                        "divider in the loop; keep counters instead")
        if op in ASSIGNMENTS:
            self.check_chain(lhs, op == "=", rhs, frame, ctx)

    def check_chain(self, target, plain: bool, rhs, frame: Frame, ctx: Context) -> None:
        """A carried variable updated from itself in every copy of an unrolled loop in a pipelined loop."""
        if ctx.pipeline is None or ctx.unroll_label is None or ctx.unroll_trip == 1:
            return
        node = strip(target)
        while ca.kind(node) in ("MEMBER_REF_EXPR", "ARRAY_SUBSCRIPT_EXPR"):
            if ca.kind(node) == "ARRAY_SUBSCRIPT_EXPR" and self.classify(ca.children(node)[1], frame, ctx).varying:
                return  # one element per copy
            node = strip(ca.children(node)[0])
        if ca.kind(node) != "DECL_REF_EXPR" or node.referenced is None or \
                ca.decl_key(node.referenced) in ctx.unrolled:
            return
        key, carried = self.resolve(node.referenced, frame, ctx)
        reads_itself = not plain or rhs is None or any(
            ca.kind(d) == "DECL_REF_EXPR" and d.referenced is not None and self.resolve(d.referenced, frame, ctx)[0]
            == key for d in rhs.walk_preorder())
        if carried and reads_itself:
            trip = "" if ctx.unroll_trip is None else f" ({ctx.unroll_trip} copies)"
            self.report(target, ctx, "carried-chain",
                        f"`{node.spelling}` is updated from itself in every copy of unrolled loop "
                        f"'{ctx.unroll_label}'{trip} and carried across iterations of pipelined loop '{ctx.pipeline}': "
                        "one chain through all copies per iteration; reduce with a tree")

    # ---- walking ---------------------------------------------------------------------------

    def walk(self, cursor, frame: Frame, ctx: Context) -> None:
        k = ca.kind(cursor)
        if k == "LABEL_STMT":
            for c in cursor.get_children():
                if ca.kind(c) in ca.LOOPS:
                    self.walk_loop(c, frame, ctx, cursor.spelling)
                else:
                    self.walk(c, frame, ctx)
            return
        if k in ca.LOOPS:
            self.walk_loop(cursor, frame, ctx, f"line {cursor.location.line}")
            return
        if k in ("IF_STMT", "CONDITIONAL_OPERATOR", "SWITCH_STMT"):
            first, *rest = ca.children(cursor)
            self.walk(first, frame, ctx)
            branch = replace(ctx, conditional=ctx.pipeline is not None)
            for c in rest:
                self.walk(c, frame, branch)
            return
        if k == "ARRAY_SUBSCRIPT_EXPR":  # the whole chain a[i][j]: checked once, then its indices walked
            self.check_access(cursor, frame, ctx)
            base, indices = subscripts(cursor)
            for c in indices + ([] if ca.kind(base) == "DECL_REF_EXPR" else [base]):
                self.walk(c, frame, ctx)
            return
        binary = ca.binary_operator(cursor, self.tokens)
        if binary is not None:
            op, lhs, rhs = binary
            self.check_operator(cursor, op, lhs, rhs, frame, ctx)
            if op == "=" and self.is_copy(lhs, rhs, frame, ctx):
                self.walk(lhs, frame, ctx)
                self.walk(rhs, frame, replace(ctx, copy=True))
                return
            if op in ("&&", "||"):
                self.walk(lhs, frame, ctx)
                self.walk(rhs, frame, replace(ctx, conditional=ctx.pipeline is not None))
                return
        unary = ca.unary_operator(cursor, self.tokens)
        if unary is not None and unary[0] in ("++", "--"):
            self.check_chain(unary[1], False, None, frame, ctx)
        for c in cursor.get_children():
            self.walk(c, frame, ctx)
        if k == "CALL_EXPR":
            self.call(cursor, frame, ctx)

    def is_copy(self, lhs, rhs, frame: Frame, ctx: Context) -> bool:
        """`regs[i] = table[j]` in a pipelined loop: an s_axilite array into a completely partitioned one."""
        if ctx.pipeline is None or ca.kind(strip(lhs)) != "ARRAY_SUBSCRIPT_EXPR" \
                or ca.kind(strip(rhs)) != "ARRAY_SUBSCRIPT_EXPR":
            return False
        (target, _), (source, _) = subscripts(strip(lhs)), subscripts(strip(rhs))
        if any(ca.kind(b) != "DECL_REF_EXPR" or b.referenced is None for b in (target, source)):
            return False
        banking = frame.arrays.get(ca.decl_key(target.referenced))
        return ca.decl_key(source.referenced) in frame.axilite and bool(banking) \
            and all(b.style == "complete" for b in banking.values())

    def walk_loop(self, loop, frame: Frame, ctx: Context, label: str) -> None:
        kinds = {p.kind for p in self.project.pragmas_of(loop)}
        if "PIPELINE" in kinds:
            ctx = replace(ctx, pipeline=label, pipeline_frame=frame.ident, pipeline_start=loop.extent.start.offset,
                          conditional=False)
        elif "UNROLL" in kinds or ctx.pipeline is not None:
            trip = self.project.trip_count(loop)
            known = None if trip is None or (ctx.unroll_label is not None and ctx.unroll_trip is None) \
                else trip * (ctx.unroll_trip or 1)
            counters = frozenset(ca.decl_key(v) for v in ca.loop_variables(loop))
            ctx = replace(ctx, unrolled=ctx.unrolled | counters, unroll_label=label, unroll_trip=known)
        for c in loop.get_children():
            self.walk(c, frame, ctx)

    def walk_function(self, fn, frame: Frame, ctx: Context) -> None:
        pragmas = self.project.pragmas_of(fn)
        names = {c.spelling: ca.decl_key(c) for c in fn.walk_preorder() if ca.kind(c) in ("PARM_DECL", "VAR_DECL")}
        for name, banking in array_banking(pragmas).items():
            if name in names:
                frame.arrays[names[name]] = banking
        for p in pragmas:
            if p.kind == "INTERFACE" and "m_axi" in p.flags and p.option("port") in names:
                frame.maxi.add(names[p.option("port")])
        for p in pragmas:
            if p.kind == "INTERFACE" and "s_axilite" in p.flags and p.option("port") in names \
                    and names[p.option("port")] not in frame.maxi:
                frame.axilite.add(names[p.option("port")])
        if any(p.kind == "PIPELINE" for p in pragmas):
            ctx = replace(ctx, pipeline=fn.spelling, pipeline_frame=frame.ident, pipeline_start=-1, conditional=False)
        body = [c for c in fn.get_children() if ca.kind(c) == "COMPOUND_STMT"]
        for c in body:
            self.walk(c, frame, ctx)

    def call(self, cursor, frame: Frame, ctx: Context) -> None:
        name = ca.callee_name(cursor)
        if name not in self.project.functions or name in ctx.stack or len(ctx.stack) >= MAX_DEPTH \
                or ca.is_method_call(cursor):
            return
        args = ca.call_arguments(cursor)
        defs = self.project.functions[name]
        fn = next((f for f in defs if len([c for c in f.get_children() if ca.kind(c) == "PARM_DECL"]) == len(args)),
                  defs[0])
        params = [c for c in fn.get_children() if ca.kind(c) == "PARM_DECL"]
        callee = Frame(fn)
        for param, arg in zip(params, args):
            callee.params[ca.decl_key(param)] = binding = self.bind(arg, frame, ctx)
            if binding.banking is not None:
                callee.arrays[ca.decl_key(param)] = binding.banking
            if binding.maxi:
                callee.maxi.add(ca.decl_key(param))
            if binding.axilite:
                callee.axilite.add(ca.decl_key(param))
        inside = ctx.pipeline is not None or ctx.unroll_label is not None
        anchor = ctx.anchor if ctx.anchor is not None or not inside else ca.where(cursor)
        self.walk_function(fn, callee, replace(ctx, anchor=anchor, stack=ctx.stack + (name,)))

    def bind(self, arg, frame: Frame, ctx: Context) -> Binding:
        index = self.classify(arg, frame, ctx)
        node = strip(arg)
        if ca.kind(node) != "DECL_REF_EXPR" or node.referenced is None:
            return Binding(index)
        ref = node.referenced
        key = ca.decl_key(ref)
        alias, carried = self.resolve(ref, frame, ctx) if ca.kind(ref) in ("VAR_DECL", "PARM_DECL") else (None, False)
        return Binding(index, frame.arrays.get(key), key in frame.maxi, key in frame.axilite, alias, carried)

    def run(self) -> set[Finding]:
        """Walk from every function no other function of the project calls (the callees follow)."""
        called = {ca.callee_name(c) for defs in self.project.functions.values() for fn in defs
                  for c in fn.walk_preorder() if ca.kind(c) == "CALL_EXPR"}
        for name, defs in self.project.functions.items():
            if name not in called:
                for fn in defs:
                    self.walk_function(fn, Frame(fn), Context())
        return self.findings
