//===- ModifierExpressions.cpp - score and mask modifiers written as text -===//
//
// scoremods::expression("30 * tanh(s / 30)") and maskmods::expression(
// "k <= q && q - k < 256"): modifiers from a small expression language, for
// callers without the C++ DSL (the C API and the Python package pass "expr:"
// + the text as score_mod or mask_mod).  The text is parsed and type-checked
// once, with errors at their column; the modifier traces the expression with
// the DSL's operations, and the backward differentiates a score modifier
// (dsl::derivative), so no derivative is written.
//
//   expr   := cmp (('&' | '&&' | '|' | '||') cmp)*
//   cmp    := sum (('<' | '<=' | '>' | '>=' | '==' | '!=') sum)?
//   sum    := prod (('+' | '-') prod)*
//   prod   := unary (('*' | '/') unary)*
//   unary  := ('-' | '!') unary | atom
//   atom   := number | name | name '(' expr (',' expr)* ')' | '(' expr ')'
//
// Names, all read as f32: s (the scaled score; score modifiers only), q and
// k (query and key positions), h (the query head), b (the batch entry), sq
// and sk (the sequence lengths; mask modifiers only).  Functions: tanh exp
// exp2 log log2 sqrt rsqrt abs sigmoid sin cos floor ceil (one argument),
// min max pow (two), where(condition, a, b).  A score modifier's text is a
// number, a mask modifier's a condition.
//
//===----------------------------------------------------------------------===//
#include "tessera/kernels/Attention.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <variant>
#include <vector>

using namespace tessera::dsl;

namespace tessera::kernels {
namespace {

/// A node of the parsed expression.
struct Node {
  enum Kind { Number, Name, Unary, Binary, Call } kind;
  std::string op; ///< the operator, name or function
  double value = 0;
  std::vector<std::shared_ptr<Node>> args;
  size_t column = 0;
  bool boolean = false; ///< a condition (comparisons, & | !), else a number
};
using NodeP = std::shared_ptr<Node>;

const std::map<std::string, int> &functions() {
  static const std::map<std::string, int> f{
      {"tanh", 1}, {"exp", 1},   {"exp2", 1},  {"log", 1},   {"log2", 1}, {"sqrt", 1},
      {"rsqrt", 1}, {"abs", 1},  {"sigmoid", 1}, {"sin", 1},  {"cos", 1},  {"floor", 1},
      {"ceil", 1}, {"min", 2},   {"max", 2},   {"pow", 2},   {"where", 3}};
  return f;
}

/// What a text may use and must be: a score modifier's (a number, with s)
/// or a mask modifier's (a condition, with sq and sk).
struct Language {
  const char *what;
  std::vector<std::string> names;
  bool condition;
};
const Language kScore{"score modifier", {"s", "q", "k", "h", "b"}, false};
const Language kMask{"mask modifier", {"q", "k", "h", "b", "sq", "sk"}, true};

class Parser {
public:
  Parser(const std::string &text, const Language &lang) : text(text), lang(lang) {}

  NodeP parse() {
    NodeP n = expr();
    skip();
    if (at < text.size())
      fail("unexpected '" + text.substr(at, 1) + "'");
    if (n->boolean && !lang.condition)
      fail("the expression is a condition; a score modifier returns a number (use where)", 0);
    if (!n->boolean && lang.condition)
      fail("the expression is a number; a mask modifier is a condition (a comparison)", 0);
    return n;
  }
  /// The names the text reads.
  std::set<std::string> used;

private:
  const std::string &text;
  const Language &lang;
  size_t at = 0;
  int nesting = 0;
  static constexpr int kMaxNesting = 200;

  [[noreturn]] void fail(const std::string &why, std::optional<size_t> col = {}) {
    throw Error(std::string(lang.what) + " expression '" + text + "': " + why + " at column " +
                std::to_string((col ? *col : at) + 1));
  }
  void skip() {
    while (at < text.size() && std::isspace((unsigned char)text[at]))
      ++at;
  }
  bool eat(const std::string &tok) {
    skip();
    if (text.compare(at, tok.size(), tok) != 0)
      return false;
    // '<' must not take the first half of '<=' and so on.
    if (tok.size() == 1 && at + 1 < text.size() && text[at + 1] == '=' &&
        (tok == "<" || tok == ">" || tok == "!" || tok == "="))
      return false;
    at += tok.size();
    return true;
  }
  NodeP make(Node::Kind kind, std::string op, std::vector<NodeP> args, size_t column) {
    auto n = std::make_shared<Node>();
    n->kind = kind;
    n->op = std::move(op);
    n->args = std::move(args);
    n->column = column;
    return n;
  }
  void number(const NodeP &n, const char *what) {
    if (n->boolean)
      fail(std::string(what) + " needs a number, not a condition", n->column);
  }
  void condition(const NodeP &n, const char *what) {
    if (!n->boolean)
      fail(std::string(what) + " needs a condition (a comparison), not a number", n->column);
  }

  NodeP expr() {
    NodeP l = cmp();
    for (;;) {
      size_t col = (skip(), at);
      std::string op = eat("&&") || eat("&") ? "&" : eat("||") || eat("|") ? "|" : "";
      if (op.empty())
        return l;
      NodeP r = cmp();
      condition(l, op.c_str());
      condition(r, op.c_str());
      l = make(Node::Binary, op, {l, r}, col);
      l->boolean = true;
    }
  }
  NodeP cmp() {
    NodeP l = sum();
    size_t col = (skip(), at);
    for (const char *op : {"<=", ">=", "==", "!=", "<", ">"})
      if (eat(op)) {
        NodeP r = sum();
        number(l, op);
        number(r, op);
        NodeP n = make(Node::Binary, op, {l, r}, col);
        n->boolean = true;
        return n;
      }
    return l;
  }
  /// One precedence level of left-associative operators on numbers.
  NodeP numbers(NodeP (Parser::*next)(), std::initializer_list<const char *> ops) {
    NodeP l = (this->*next)();
    for (;;) {
      size_t col = (skip(), at);
      const char *op = nullptr;
      for (const char *o : ops)
        if (!op && eat(o))
          op = o;
      if (!op)
        return l;
      NodeP r = (this->*next)();
      number(l, op);
      number(r, op);
      l = make(Node::Binary, op, {l, r}, col);
    }
  }
  NodeP sum() { return numbers(&Parser::prod, {"+", "-"}); }
  NodeP prod() { return numbers(&Parser::unary, {"*", "/"}); }
  NodeP unary() {
    size_t col = (skip(), at);
    // Every nesting ('(', a call's arguments, a sign) recurses through here:
    // bounded, so that no text can exhaust the stack.
    struct Depth {
      int &d;
      explicit Depth(int &d) : d(++d) {}
      ~Depth() { --d; }
    } depth(nesting);
    if (nesting > kMaxNesting)
      fail("nested more than " + std::to_string(kMaxNesting) + " deep");
    if (eat("-")) {
      NodeP a = unary();
      number(a, "-");
      return make(Node::Unary, "-", {a}, col);
    }
    if (eat("!")) {
      NodeP a = unary();
      condition(a, "!");
      NodeP n = make(Node::Unary, "!", {a}, col);
      n->boolean = true;
      return n;
    }
    return atom();
  }
  NodeP atom() {
    skip();
    size_t col = at;
    if (at >= text.size())
      fail("the expression ends early");
    if (eat("(")) {
      NodeP n = expr();
      if (!eat(")"))
        fail("expected ')'");
      return n;
    }
    char c = text[at];
    if (std::isdigit((unsigned char)c) || c == '.') {
      char *end = nullptr;
      double v = std::strtod(text.c_str() + at, &end);
      if (end == text.c_str() + at)
        fail("malformed number");
      at = size_t(end - text.c_str());
      NodeP n = make(Node::Number, "", {}, col);
      n->value = v;
      return n;
    }
    if (!std::isalpha((unsigned char)c) && c != '_')
      fail("unexpected '" + std::string(1, c) + "'");
    std::string name;
    while (at < text.size() && (std::isalnum((unsigned char)text[at]) || text[at] == '_'))
      name += text[at++];
    if (!eat("(")) {
      if (std::find(lang.names.begin(), lang.names.end(), name) == lang.names.end()) {
        std::string names;
        for (const std::string &n : lang.names)
          names += n + ", ";
        fail("unknown name '" + name + "' (" + names + "or a function with arguments)", col);
      }
      used.insert(name);
      return make(Node::Name, name, {}, col);
    }
    auto f = functions().find(name);
    if (f == functions().end())
      fail("unknown function '" + name + "'", col);
    std::vector<NodeP> args{expr()};
    while (eat(","))
      args.push_back(expr());
    if (!eat(")"))
      fail("expected ')' or ','");
    if (int(args.size()) != f->second)
      fail(name + " takes " + std::to_string(f->second) + " argument" +
               (f->second == 1 ? "" : "s") + ", got " + std::to_string(args.size()),
           col);
    if (name == "where") {
      condition(args[0], "where's first argument");
      number(args[1], "where");
      number(args[2], "where");
    } else {
      for (const NodeP &a : args)
        number(a, name.c_str());
    }
    return make(Node::Call, name, std::move(args), col);
  }
};

/// A value while tracing: a constant folded in double, or a tile.
using Value = std::variant<double, Tile>;

struct Tracer {
  std::optional<Tile> s;
  const Scalar &batch, &head;
  const Tile &query, &key;
  std::optional<Scalar> seqQ, seqK;
  /// The block: the score's shape, or the positions' broadcast.
  std::vector<int64_t> shape() const {
    if (s)
      return s->shape();
    std::vector<int64_t> a = query.shape(), b = key.shape();
    for (size_t i = 0; i < a.size() && i < b.size(); ++i)
      a[i] = std::max(a[i], b[i]);
    return a;
  }

  Tile tile(const Value &v) {
    if (auto *t = std::get_if<Tile>(&v))
      return *t;
    return full(shape(), Num(std::get<double>(v)), f32);
  }
  /// The result, shaped as the block.
  Tile result(const Node &root) {
    Tile r = tile(eval(root));
    return r.shape() == shape() ? r : broadcastTo(r, shape());
  }

  Value eval(const Node &n) {
    switch (n.kind) {
    case Node::Number: return n.value;
    case Node::Name:
      if (n.op == "s") return *s;
      if (n.op == "q") return query.to(f32);
      if (n.op == "k") return key.to(f32);
      if (n.op == "sq" || n.op == "sk") return splat((n.op == "sq" ? *seqQ : *seqK).to(f32), shape());
      return splat((n.op == "h" ? head : batch).to(f32), shape());
    case Node::Unary: {
      Value a = eval(*n.args[0]);
      if (n.op == "!")
        return !tile(a);
      if (auto *x = std::get_if<double>(&a))
        return -*x;
      return -std::get<Tile>(a);
    }
    case Node::Binary: return binary(n.op, eval(*n.args[0]), eval(*n.args[1]));
    case Node::Call: return call(n);
    }
    return 0.0;
  }

  Value binary(const std::string &op, const Value &l, const Value &r) {
    auto *x = std::get_if<double>(&l), *y = std::get_if<double>(&r);
    if (x && y && (op == "+" || op == "-" || op == "*" || op == "/")) // folded
      return op == "+" ? *x + *y : op == "-" ? *x - *y : op == "*" ? *x * *y : *x / *y;
    // A division by a number multiplies by its reciprocal (one rounding
    // more; the built-in softcap does the same, and tile-fold-factors can
    // then merge the factor with the kernel's scale).
    if (y && op == "/")
      return binary("*", l, 1.0 / *y);
    auto apply = [&](auto f) -> Value {
      if (x)
        return f(NumAt(*x), std::get<Tile>(r));
      if (y)
        return f(std::get<Tile>(l), Num(*y));
      return f(std::get<Tile>(l), std::get<Tile>(r));
    };
    if (op == "+") return apply([](auto a, auto b) -> Tile { return a + b; });
    if (op == "-") return apply([](auto a, auto b) -> Tile { return a - b; });
    if (op == "*") return apply([](auto a, auto b) -> Tile { return a * b; });
    if (op == "/") return apply([](auto a, auto b) -> Tile { return a / b; });
    // Comparisons and & |: on tiles (a comparison of two constants is
    // rare enough to make a tile of).
    Tile a = tile(l), b = tile(r);
    if (op == "<") return a < b;
    if (op == "<=") return a <= b;
    if (op == ">") return a > b;
    if (op == ">=") return a >= b;
    if (op == "==") return a == b;
    if (op == "!=") return a != b;
    if (op == "&") return a & b;
    return a | b;
  }

  Value call(const Node &n) {
    std::vector<Value> a;
    for (const NodeP &arg : n.args)
      a.push_back(eval(*arg));
    const std::string &f = n.op;
    if (f == "where") {
      Tile c = tile(a[0]);
      auto *x = std::get_if<double>(&a[1]), *y = std::get_if<double>(&a[2]);
      if (x && y)
        return where(c, tile(a[1]), tile(a[2]));
      if (x)
        return where(c, Num(*x), std::get<Tile>(a[2]));
      if (y)
        return where(c, std::get<Tile>(a[1]), Num(*y));
      return where(c, std::get<Tile>(a[1]), std::get<Tile>(a[2]));
    }
    if (f == "min" || f == "max" || f == "pow") {
      Tile l = tile(a[0]), r = tile(a[1]);
      return f == "min" ? minimum(l, r) : f == "max" ? maximum(l, r) : pow(l, r);
    }
    Tile t = tile(a[0]);
    static const std::map<std::string, Tile (*)(const Tile &, SrcLoc)> unary{
        {"tanh", tanh}, {"exp", exp},     {"exp2", exp2},       {"log", log},
        {"log2", log2}, {"sqrt", sqrt},   {"rsqrt", rsqrt},     {"abs", abs},
        {"sin", sin},   {"cos", cos},     {"floor", floor},     {"ceil", ceil},
        {"sigmoid", sigmoid}};
    return unary.at(f)(t, SrcLoc::current());
  }
};

/// A bound on |value| over every input, if the text implies one: tanh,
/// sigmoid, sin and cos are within 1, and sums, products, quotients by a
/// number, abs, min/max, where, exp and floor/ceil of bounded terms stay
/// bounded.  (The score modifier's ScoreMod::bound: on bf16 the forward
/// then needs no running row maximum.)
std::optional<double> boundOf(const Node &n) {
  auto arg = [&](size_t i) { return boundOf(*n.args[i]); };
  auto both = [&](auto f) -> std::optional<double> {
    auto a = arg(0), b = arg(1);
    if (!a || !b)
      return std::nullopt;
    return f(*a, *b);
  };
  switch (n.kind) {
  case Node::Number: return std::abs(n.value);
  case Node::Name: return std::nullopt;
  case Node::Unary: return arg(0);
  case Node::Binary:
    if (n.op == "+" || n.op == "-")
      return both([](double a, double b) { return a + b; });
    if (n.op == "*")
      return both([](double a, double b) { return a * b; });
    if (n.op == "/" && n.args[1]->kind == Node::Number && n.args[1]->value != 0) {
      auto a = arg(0);
      return a ? std::optional<double>(*a / std::abs(n.args[1]->value)) : std::nullopt;
    }
    return std::nullopt;
  case Node::Call:
    if (n.op == "tanh" || n.op == "sigmoid" || n.op == "sin" || n.op == "cos")
      return 1.0;
    if (n.op == "abs")
      return arg(0);
    if (n.op == "floor" || n.op == "ceil") {
      auto a = arg(0);
      return a ? std::optional<double>(*a + 1) : std::nullopt;
    }
    if (n.op == "exp" || n.op == "exp2") {
      auto a = arg(0);
      return a ? std::optional<double>(n.op == "exp" ? std::exp(*a) : std::exp2(*a))
               : std::nullopt;
    }
    if (n.op == "min" || n.op == "max")
      return both([](double a, double b) { return std::max(a, b); });
    if (n.op == "where") {
      auto a = arg(1), b = arg(2);
      return a && b ? std::optional<double>(std::max(*a, *b)) : std::nullopt;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

/// The name standing for `text` in this process (kernels are memoized by
/// name; two texts with one 64-bit hash would share kernels); the disk cache
/// is keyed by the traced code anyway.
std::string nameOf(const std::string &text) {
  uint64_t hash = 0xcbf29ce484222325ull; // FNV-1a
  for (unsigned char c : text)
    hash = (hash ^ c) * 0x100000001b3ull;
  char name[32];
  std::snprintf(name, sizeof name, "expr.%016llx", (unsigned long long)hash);
  return name;
}
} // namespace

namespace scoremods {
ScoreMod expression(const std::string &text) {
  NodeP root = Parser(text, kScore).parse();
  ScoreMod mod{nameOf(text), [root](const Tile &s, const Scalar &batch, const Scalar &head,
                                    const Tile &query, const Tile &key) {
                 return Tracer{s, batch, head, query, key, {}, {}}.result(*root);
               }};
  if (std::optional<double> b = boundOf(*root); b && std::isfinite(*b) && *b > 0)
    mod.bound = *b;
  return mod;
}
} // namespace scoremods

namespace maskmods {
MaskMod expression(const std::string &text) {
  Parser parser(text, kMask);
  NodeP root = parser.parse();
  MaskMod mod{nameOf(text), [root](const Scalar &batch, const Scalar &head, const Tile &query,
                                   const Tile &key, const MaskContext &c) {
                return Tracer{std::nullopt, batch, head, query, key, c.seqQ, c.seqK}.result(*root);
              }};
  mod.perHead = parser.used.count("h") > 0;
  mod.perBatch = parser.used.count("b") > 0;
  return mod;
}
} // namespace maskmods

} // namespace tessera::kernels
