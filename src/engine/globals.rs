//! Script functions read the script's top-level variables, as Python
//! functions read module globals.
//!
//! A Rhai function has its own scope and cannot see its caller's
//! variables, so `let tl = local(); fn f() { print(tl.student) }` would
//! fail. Here the names a function reads without defining them (its free
//! names) are looked up, through the engine's variable resolver, in a
//! table of the top-level variables of that name. The table is refreshed
//! by a marker statement placed before each statement of the top level
//! (and of the blocks of top-level loops and branches), so a function
//! sees the values as they are when it is called, and tasks see the latest
//! ones. Nothing is inserted when no function reads a top-level name, so
//! programs that pass everything as parameters pay nothing.
//!
//! The values are copies, read-only as Python's are without `global`:
//! handles (sockets, locks, queues, `local()`, `value()`) still refer to
//! the same object, so `q.put(x)` or `tl.student = name` inside a function
//! work; assigning to a top-level plain value from a function is an error
//! whose hint explains `value()`.

use std::collections::{HashMap, HashSet};
use std::sync::{OnceLock, RwLock};

use rhai::{AST, ASTNode, Dynamic, EvalContext, Expr, Stmt, StmtBlock};

/// The variable the marker statement reads; the resolver publishes the
/// top-level variables when it sees it. Not a name a script can write
/// by accident.
pub const PUBLISH: &str = "__sockrepl_publish_globals__";

/// A session's top-level variables as functions see them.
#[derive(Default)]
pub struct Globals {
    values: RwLock<HashMap<String, Dynamic>>,
    /// Names that some function reads without defining.
    wanted: RwLock<HashSet<String>>,
}

impl Globals {
    /// The engine's variable resolver: `Some(value)` for a free name of a
    /// function that is a top-level variable.
    pub fn resolve(&self, name: &str, index: usize, context: &EvalContext) -> Option<Dynamic> {
        // Names the parser placed in a scope slot are the function's own.
        if index > 0 {
            return None;
        }
        if context.call_level() == 0 {
            if name == PUBLISH {
                self.publish(context.scope());
                return Some(Dynamic::UNIT);
            }
            return None;
        }
        if context.scope().contains(name) {
            return None;
        }
        self.values.read().unwrap_or_else(|p| p.into_inner()).get(name).cloned()
    }

    /// Copies the wanted top-level variables from `scope`.
    fn publish(&self, scope: &rhai::Scope) {
        let wanted = self.wanted.read().unwrap_or_else(|p| p.into_inner());
        let mut values = self.values.write().unwrap_or_else(|p| p.into_inner());
        for name in wanted.iter() {
            // A copy, not the variable itself: a captured variable is a
            // shared cell that the main thread may hold locked in a call.
            if let Some(value) = scope.get(name) {
                values.insert(name.clone(), value.flatten_clone());
            }
        }
    }

    /// True if `name` is a top-level variable that functions read.
    pub fn is_published(&self, name: &str) -> bool {
        self.values.read().unwrap_or_else(|p| p.into_inner()).contains_key(name)
    }

    /// The published values, for a child process to start with.
    pub fn snapshot(&self) -> Vec<(String, Dynamic)> {
        let values = self.values.read().unwrap_or_else(|p| p.into_inner());
        values.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }

    /// Forgets every variable (the shell's `:reset`).
    pub fn clear(&self) {
        self.values.write().unwrap_or_else(|p| p.into_inner()).clear();
        self.wanted.write().unwrap_or_else(|p| p.into_inner()).clear();
    }

    /// Sets values directly (a child process receives its parent's).
    pub fn set(&self, name: &str, value: Dynamic) {
        self.wanted
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string());
        self.values
            .write()
            .unwrap_or_else(|p| p.into_inner())
            .insert(name.to_string(), value);
    }

    /// Readies `ast` to run at the top level: notes the free names of its
    /// functions (and of `functions`, those defined earlier in a shell
    /// session) and, if there are any, places the marker before each
    /// top-level statement.
    pub fn prepare(&self, ast: AST, functions: &AST) -> AST {
        let mut free = free_names(&ast.clone_functions_only());
        free.extend(free_names(&functions.clone_functions_only()));
        if free.is_empty() {
            return ast;
        }
        self.wanted.write().unwrap_or_else(|p| p.into_inner()).extend(free);
        let statements: Vec<Stmt> = with_markers(ast.statements());
        let mut prepared = AST::new(statements, ast.shared_lib().clone());
        if let Some(source) = ast.source() {
            prepared.set_source(source);
        }
        prepared
    }
}

/// Names read but not defined inside the functions of `functions` (an
/// AST with no top-level statements, so the walk sees function bodies
/// only).
fn free_names(functions: &AST) -> HashSet<String> {
    let mut names = HashSet::new();
    functions.walk(&mut |path: &[ASTNode]| {
        if let Some(ASTNode::Expr(Expr::Variable(var, None, _))) = path.last()
            && var.0.is_none()
            && var.2.is_empty()
        {
            names.insert(var.1.to_string());
        }
        true
    });
    names
}

fn marker() -> Stmt {
    static MARKER: OnceLock<Option<Stmt>> = OnceLock::new();
    MARKER
        .get_or_init(|| {
            let mut engine = rhai::Engine::new_raw();
            engine.set_optimization_level(rhai::OptimizationLevel::None);
            engine.compile(PUBLISH).ok()?.statements().first().cloned()
        })
        .clone()
        .unwrap_or(Stmt::Noop(rhai::Position::NONE))
}

/// `statements`, each preceded by the marker, with the same done inside
/// the blocks of loops, branches and `try`.
fn with_markers(statements: &[Stmt]) -> Vec<Stmt> {
    let mut out = Vec::with_capacity(statements.len() * 2);
    for stmt in statements {
        out.push(marker());
        out.push(with_markers_inside(stmt));
    }
    out
}

fn block(body: &StmtBlock) -> StmtBlock {
    if body.is_empty() {
        return body.clone();
    }
    StmtBlock::new_with_span(with_markers(body.statements()), body.span())
}

fn with_markers_inside(stmt: &Stmt) -> Stmt {
    match stmt {
        Stmt::If(flow, pos) => {
            let mut flow = flow.clone();
            flow.body = block(&flow.body);
            flow.branch = block(&flow.branch);
            Stmt::If(flow, *pos)
        }
        Stmt::While(flow, pos) => {
            let mut flow = flow.clone();
            flow.body = block(&flow.body);
            Stmt::While(flow, *pos)
        }
        Stmt::Do(flow, options, pos) => {
            let mut flow = flow.clone();
            flow.body = block(&flow.body);
            Stmt::Do(flow, *options, *pos)
        }
        Stmt::For(for_loop, pos) => {
            let mut for_loop = for_loop.clone();
            for_loop.2.body = block(&for_loop.2.body);
            Stmt::For(for_loop, *pos)
        }
        Stmt::Block(body) => Stmt::Block(Box::new(block(body))),
        Stmt::TryCatch(flow, pos) => {
            let mut flow = flow.clone();
            flow.body = block(&flow.body);
            flow.branch = block(&flow.branch);
            Stmt::TryCatch(flow, *pos)
        }
        other => other.clone(),
    }
}
