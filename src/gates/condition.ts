/**
 * Gate conditions: a tiny expression language over the measured `result` and the gate's `baseline`,
 * parsed into a tree and evaluated by walking it (never `eval`): a policy file must not be able to run code.
 *
 *   result < 1.2 * baseline
 *   result >= 99.9%              (a percent is a ratio: 0.999)
 *   result == 0 or (result < 0.2 and baseline < 0.1)
 *   result <= max(2 * baseline, 0.001)
 *
 * Numbers and `result`/`baseline` combine with + - * / and min(), max(), abs(); comparisons (< <= > >= == !=)
 * make a truth value; `and`, `or`, `not` (also && || !) combine those. Types are checked when parsing, so
 * `result and 1` or a bare `result` is refused with the place it went wrong.
 */

export type ConditionNode =
  | { kind: 'number'; value: number }
  | { kind: 'var'; name: 'result' | 'baseline' }
  | { kind: 'neg'; arg: ConditionNode }
  | { kind: 'arith'; op: '+' | '-' | '*' | '/'; left: ConditionNode; right: ConditionNode }
  | { kind: 'call'; fn: 'min' | 'max' | 'abs'; args: ConditionNode[] }
  | { kind: 'compare'; op: CompareOp; left: ConditionNode; right: ConditionNode }
  | { kind: 'logic'; op: 'and' | 'or'; left: ConditionNode; right: ConditionNode }
  | { kind: 'not'; arg: ConditionNode };

type CompareOp = '<' | '<=' | '>' | '>=' | '==' | '!=';

export interface Condition {
  text: string;
  root: ConditionNode;
  /** Whether it reads `baseline` (then the gate needs one before the first node is touched). */
  usesBaseline: boolean;
}

/** A condition that does not parse: the message says where (1-based column) and what was expected. */
export class ConditionSyntaxError extends Error {
  constructor(
    readonly text: string,
    readonly column: number,
    problem: string,
  ) {
    super(`${problem} at column ${column} of "${text}"`);
    this.name = 'ConditionSyntaxError';
  }
}

type Token =
  | { t: 'num'; value: number; at: number }
  | { t: 'id'; value: string; at: number }
  | { t: 'op'; value: string; at: number }
  | { t: 'end'; at: number };

const FUNCTIONS = { min: [2, Infinity], max: [2, Infinity], abs: [1, 1] } as const;
const WORD_OPS: Record<string, string> = { and: 'and', or: 'or', not: 'not' };
const SYMBOL_OPS = ['<=', '>=', '==', '!=', '&&', '||', '<', '>', '+', '-', '*', '/', '(', ')', ',', '!'];

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const num = /^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?(%?)/i.exec(text.slice(i));
    if (num) {
      const written = Number(num[1]! + (num[2] ?? ''));
      // Note: 99.9 / 100 is 0.9990000000000001 in floating point; rounded, "99.9%" equals 0.999.
      const value = num[3] ? Number((written / 100).toPrecision(15)) : written;
      tokens.push({ t: 'num', value, at: i + 1 });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_]\w*/.exec(text.slice(i));
    if (id) {
      const word = id[0];
      if (WORD_OPS[word]) tokens.push({ t: 'op', value: word, at: i + 1 });
      else tokens.push({ t: 'id', value: word, at: i + 1 });
      i += word.length;
      continue;
    }
    const op = SYMBOL_OPS.find((o) => text.startsWith(o, i));
    if (!op) throw new ConditionSyntaxError(text, i + 1, `unexpected "${c}"`);
    const normal = op === '&&' ? 'and' : op === '||' ? 'or' : op === '!' ? 'not' : op;
    tokens.push({ t: 'op', value: normal, at: i + 1 });
    i += op.length;
  }
  tokens.push({ t: 'end', at: text.length + 1 });
  return tokens;
}

type Typed = { node: ConditionNode; type: 'number' | 'truth' };

/** Parses a condition; throws ConditionSyntaxError naming the column and what was expected there. */
export function parseCondition(text: string): Condition {
  const tokens = tokenize(text);
  let pos = 0;
  let usesBaseline = false;
  const peek = () => tokens[pos]!;
  const isOp = (value: string) => {
    const tok = peek();
    return tok.t === 'op' && tok.value === value;
  };
  const fail = (problem: string, at = peek().at): never => {
    throw new ConditionSyntaxError(text, at, problem);
  };
  const describe = (tok: Token) =>
    tok.t === 'end' ? 'the end' : `"${tok.t === 'num' ? text.slice(tok.at - 1).split(/\s/)[0] : tok.value}"`;
  const expectType = (typed: Typed, type: Typed['type'], at: number, what: string): ConditionNode => {
    if (typed.type !== type)
      fail(
        type === 'number'
          ? `${what} needs a number, not a comparison`
          : `${what} needs a comparison such as "result < 1", not a bare number`,
        at,
      );
    return typed.node;
  };

  const parseOr = (): Typed => {
    const at = peek().at;
    let left = parseAnd();
    while (isOp('or')) {
      const opAt = peek().at;
      pos++;
      const right = parseAnd();
      left = {
        type: 'truth',
        node: {
          kind: 'logic',
          op: 'or',
          left: expectType(left, 'truth', at, '"or"'),
          right: expectType(right, 'truth', opAt, '"or"'),
        },
      };
    }
    return left;
  };
  const parseAnd = (): Typed => {
    const at = peek().at;
    let left = parseNot();
    while (isOp('and')) {
      const opAt = peek().at;
      pos++;
      const right = parseNot();
      left = {
        type: 'truth',
        node: {
          kind: 'logic',
          op: 'and',
          left: expectType(left, 'truth', at, '"and"'),
          right: expectType(right, 'truth', opAt, '"and"'),
        },
      };
    }
    return left;
  };
  const parseNot = (): Typed => {
    if (isOp('not')) {
      const at = peek().at;
      pos++;
      return { type: 'truth', node: { kind: 'not', arg: expectType(parseNot(), 'truth', at, '"not"') } };
    }
    return parseCompare();
  };
  const parseCompare = (): Typed => {
    const at = peek().at;
    const left = parseSum();
    const tok = peek();
    if (tok.t === 'op' && ['<', '<=', '>', '>=', '==', '!='].includes(tok.value)) {
      pos++;
      const right = parseSum();
      const node: ConditionNode = {
        kind: 'compare',
        op: tok.value as CompareOp,
        left: expectType(left, 'number', at, `"${tok.value}"`),
        right: expectType(right, 'number', tok.at, `"${tok.value}"`),
      };
      const next = peek();
      if (next.t === 'op' && ['<', '<=', '>', '>=', '==', '!='].includes(next.value))
        fail('comparisons do not chain: write "a < b and b < c"');
      return { type: 'truth', node };
    }
    return left;
  };
  const parseSum = (): Typed => {
    let left = parseProduct();
    for (let tok = peek(); tok.t === 'op' && (tok.value === '+' || tok.value === '-'); tok = peek()) {
      pos++;
      const right = parseProduct();
      left = {
        type: 'number',
        node: {
          kind: 'arith',
          op: tok.value as '+' | '-',
          left: expectType(left, 'number', tok.at, `"${tok.value}"`),
          right: expectType(right, 'number', tok.at, `"${tok.value}"`),
        },
      };
    }
    return left;
  };
  const parseProduct = (): Typed => {
    let left = parseUnary();
    for (let tok = peek(); tok.t === 'op' && (tok.value === '*' || tok.value === '/'); tok = peek()) {
      pos++;
      const right = parseUnary();
      left = {
        type: 'number',
        node: {
          kind: 'arith',
          op: tok.value as '*' | '/',
          left: expectType(left, 'number', tok.at, `"${tok.value}"`),
          right: expectType(right, 'number', tok.at, `"${tok.value}"`),
        },
      };
    }
    return left;
  };
  const parseUnary = (): Typed => {
    if (isOp('-')) {
      const at = peek().at;
      pos++;
      return { type: 'number', node: { kind: 'neg', arg: expectType(parseUnary(), 'number', at, '"-"') } };
    }
    return parsePrimary();
  };
  const parsePrimary = (): Typed => {
    const tok = peek();
    if (tok.t === 'num') {
      pos++;
      return { type: 'number', node: { kind: 'number', value: tok.value } };
    }
    if (tok.t === 'id') {
      pos++;
      if (tok.value === 'result' || tok.value === 'baseline') {
        if (tok.value === 'baseline') usesBaseline = true;
        return { type: 'number', node: { kind: 'var', name: tok.value } };
      }
      if (tok.value in FUNCTIONS) {
        const fn = tok.value as keyof typeof FUNCTIONS;
        if (!isOp('(')) fail(`${fn} needs its arguments in parentheses`);
        pos++;
        const args: ConditionNode[] = [];
        for (;;) {
          const at = peek().at;
          args.push(expectType(parseOr(), 'number', at, `${fn}()`));
          if (isOp(',')) {
            pos++;
            continue;
          }
          if (!isOp(')')) fail(`expected "," or ")" in ${fn}(), found ${describe(peek())}`);
          pos++;
          break;
        }
        const [least, most] = FUNCTIONS[fn];
        if (args.length < least || args.length > most)
          fail(`${fn}() takes ${least === most ? least : `at least ${least}`} argument(s)`, tok.at);
        return { type: 'number', node: { kind: 'call', fn, args } };
      }
      return fail(`unknown name "${tok.value}" (known: result, baseline, min, max, abs)`, tok.at);
    }
    if (isOp('(')) {
      pos++;
      const inner = parseOr();
      if (!isOp(')')) fail(`expected ")", found ${describe(peek())}`);
      pos++;
      return inner;
    }
    return fail(`expected a number, result or baseline, found ${describe(tok)}`);
  };

  if (text.trim() === '') fail('empty condition', 1);
  const root = parseOr();
  if (peek().t !== 'end') fail(`unexpected ${describe(peek())}`);
  return { text, root: expectType(root, 'truth', 1, 'a condition'), usesBaseline };
}

/** The values a condition reads. `baseline` is undefined when the gate has none: reading it then throws. */
export interface ConditionInputs {
  result: number;
  baseline?: number;
}

/** Evaluates a parsed condition. Throws when it reads a baseline the gate does not have. */
export function evaluateCondition(condition: Condition, inputs: ConditionInputs): boolean {
  return truth(condition.root, inputs);
}

function truth(node: ConditionNode, inputs: ConditionInputs): boolean {
  switch (node.kind) {
    case 'compare': {
      const a = num(node.left, inputs);
      const b = num(node.right, inputs);
      switch (node.op) {
        case '<':
          return a < b;
        case '<=':
          return a <= b;
        case '>':
          return a > b;
        case '>=':
          return a >= b;
        case '==':
          return a === b;
        case '!=':
          return a !== b;
      }
      break;
    }
    case 'logic':
      return node.op === 'and'
        ? truth(node.left, inputs) && truth(node.right, inputs)
        : truth(node.left, inputs) || truth(node.right, inputs);
    case 'not':
      return !truth(node.arg, inputs);
  }
  throw new Error(`not a comparison: ${node.kind}`);
}

function num(node: ConditionNode, inputs: ConditionInputs): number {
  switch (node.kind) {
    case 'number':
      return node.value;
    case 'var':
      if (node.name === 'result') return inputs.result;
      if (inputs.baseline === undefined)
        throw new Error('the condition reads baseline but none was recorded');
      return inputs.baseline;
    case 'neg':
      return -num(node.arg, inputs);
    case 'arith': {
      const a = num(node.left, inputs);
      const b = num(node.right, inputs);
      if (node.op === '+') return a + b;
      if (node.op === '-') return a - b;
      if (node.op === '*') return a * b;
      return a / b;
    }
    case 'call': {
      const values = node.args.map((a) => num(a, inputs));
      if (node.fn === 'abs') return Math.abs(values[0]!);
      return node.fn === 'min' ? Math.min(...values) : Math.max(...values);
    }
  }
  throw new Error(`not a number: ${node.kind}`);
}
