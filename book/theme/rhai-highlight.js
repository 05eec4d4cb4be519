// Highlighting for the book's own kinds of code block, on top of the
// highlight.js that mdBook ships (version 10; version 11 also works):
//
//   ```rhai   Rhai source: keywords, strings, numbers, comments, built-in
//             functions, and names being called or defined ("hljs-title").
//   ```repl   shell transcripts: the "> " prompt, the typed line
//             highlighted as Rhai, and the shell's answer.
//   ```text   terminals starting with "$ ": the command, the program's
//             output, and input typed by the reader (written ⟨like this⟩).
//
// Each source line becomes its own element, so a line too long for the
// page wraps under its own indentation instead of scrolling sideways.
(function () {
    "use strict";
    if (typeof hljs === "undefined") { return; }

    var BUILT_IN = "print debug socket lock queue value local process pool pack unpack unpack_from " +
        "calcsize hexdump sleep time strftime input pid exit open help tasks current_task " +
        "gethostname gethostbyname blob parse_int parse_float type_of exists getsize listdir " +
        "remove rename realpath path_join gettempdir makedirs isdir dirname";

    hljs.registerLanguage("rhai", function (hljs) {
        return {
            name: "Rhai",
            keywords: {
                keyword: "let const fn if else while loop for in do until return break continue " +
                    "try catch throw switch import export as private this spawn global",
                literal: "true false",
                built_in: BUILT_IN
            },
            contains: [
                hljs.C_LINE_COMMENT_MODE,
                hljs.C_BLOCK_COMMENT_MODE,
                hljs.QUOTE_STRING_MODE,
                {
                    className: "string", begin: "`", end: "`",
                    contains: [{ className: "subst", begin: "\\$\\{", end: "\\}" }]
                },
                hljs.C_NUMBER_MODE,
                // AF_INET, SO_REUSEADDR, SHUT_WR ...: the socket constants.
                { className: "literal", begin: /\b[A-Z][A-Z0-9]*_[A-Z0-9_]+\b/ },
                // A name followed by "(": a function being called or defined.
                { className: "title", begin: /\b[a-z_][A-Za-z0-9_]*(?=\s*\()/ }
            ]
        };
    });

    var OLD_API = !hljs.versionString || /^10\./.test(hljs.versionString);

    // Highlights one line, continuing the state left by the previous one
    // (a comment or string may span lines). Returns {html, state}.
    function highlightLine(line, state) {
        if (OLD_API) {
            var r = hljs.highlight("rhai", line, true, state || undefined);
            return { html: r.value, state: r.top };
        }
        return { html: hljs.highlight(line, { language: "rhai", ignoreIllegals: true }).value, state: null };
    }

    function escape(text) {
        return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
    }

    // One line of the listing, wrapping under its own indentation.
    function lineSpan(html, text, extraClass) {
        var indent = text.match(/^ */)[0].length + 4;
        return '<span class="line' + (extraClass ? " " + extraClass : "") +
            '" style="padding-left:' + indent + "ch;text-indent:-" + indent + 'ch">' +
            (html === "" ? " " : html) + "</span>";
    }

    function lines(block) {
        var text = block.textContent.replace(/\n$/, "");
        return text.split("\n");
    }

    // An error report: "error: ...", then indented location lines, the
    // source line with its caret, and an optional final "hint: ...".
    function errorTracker() {
        var inError = false;
        return function (line) {
            if (/^error: /.test(line)) { inError = true; return true; }
            if (!inError) { return false; }
            if (/^hint: /.test(line)) { inError = false; return true; }
            if (/^(\s|\d+ \||$)/.test(line)) { return true; }
            inError = false;
            return false;
        };
    }

    function render(block, html) {
        block.innerHTML = html.join("");
        block.classList.add("hljs", "lined");
    }

    function rhaiBlock(block) {
        var state = null;
        render(block, lines(block).map(function (line) {
            var r = highlightLine(line, state);
            state = r.state;
            return lineSpan(r.html, line);
        }));
    }

    function replBlock(block) {
        var state = null;
        var isError = errorTracker();
        render(block, lines(block).map(function (line) {
            if (line.indexOf("> ") === 0) {
                var r = highlightLine(line.slice(2), state);
                state = r.state;
                return lineSpan('<span class="prompt">&gt; </span>' + r.html, line);
            }
            return lineSpan(escape(line), line, isError(line) ? "repl-error" : "repl-output");
        }));
    }

    function terminalBlock(block) {
        var isError = errorTracker();
        render(block, lines(block).map(function (line) {
            if (line.indexOf("$ ") === 0) {
                return lineSpan('<span class="prompt">$ </span><span class="command">' +
                    escape(line.slice(2)) + "</span>", line);
            }
            var html = escape(line)
                .replace(/⟨(Ctrl-[A-Z])⟩/g, '<kbd class="key">$1</kbd>')
                .replace(/⟨⟩$/, '<kbd class="key">Enter</kbd>')
                .replace(/⟨([^⟩]*)⟩$/, '<span class="typed">$1</span>');
            return lineSpan(html, line, isError(line) ? "repl-error" : "");
        }));
    }

    document.querySelectorAll("code.language-rhai").forEach(rhaiBlock);
    document.querySelectorAll("code.language-repl").forEach(replBlock);
    document.querySelectorAll("code.language-text").forEach(function (block) {
        if (block.textContent.indexOf("$ ") === 0) { terminalBlock(block); }
    });
})();
