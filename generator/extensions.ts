// Checks user classes that extend generated base classes against the generated code as it is now, using ts-morph.
import { relative } from 'node:path';
import {
  Node, Project, SyntaxKind,
  type ClassDeclaration, type Expression, type MethodDeclaration, type ObjectLiteralExpression, type SourceFile, type Type,
} from 'ts-morph';
import type { ObjectModel, ResourceModel } from '../runtime/model.js';
import { checkContent } from '../runtime/values/check.js';
import { ValueError } from '../runtime/errors.js';
import { isGeneratedFile, literalValue, propertyName, readGeneratedBase, type GeneratedBase, type Literal, type Role } from './extensions-ast.js';
import { closest, previousNames, roleOfName, type PreviousNames } from './extensions-renames.js';
import { hasAllowMarker, pathFilter } from './extensions-scope.js';

export type FindingKind =
  /** A hook or handler the class defines that the base no longer has (resource removed, renamed or lost the operation). */
  | 'member-removed'
  /** A hook whose parameters or return type no longer match the base (the resource's type changed). */
  | 'hook-signature'
  /** An abstract execute handler of the base that the class does not implement. */
  | 'abstract-handler'
  /** A literal value set on a resource, or given in the constructor values, that the resource's range refuses. */
  | 'value-out-of-range'
  /** A resource member that is set or given in constructor values but no longer exists. */
  | 'unknown-resource';

export interface ExtensionFinding {
  readonly kind: FindingKind;
  readonly file: string;
  readonly line: number;
  readonly col: number;
  /** The user class concerned (for values: the class whose resource it is). */
  readonly className: string;
  readonly baseClass: string;
  readonly member: string;
  readonly objectId: number;
  readonly resourceId?: number;
  /** What is wrong. */
  readonly message: string;
  /** What to change. */
  readonly fix: string;
  /** A replacement name, when there is one. */
  readonly suggestion?: string;
}

export interface CheckExtensionsOptions {
  /** The user project's tsconfig.json. */
  readonly tsconfig: string;
  /** Models of the version the user code was written for: turns "did you mean" into exact renames by resource id. */
  readonly previous?: readonly ObjectModel[];
  /** Paths in findings are relative to this folder; default the current directory. */
  readonly cwd?: string;
  /** Globs of the files to check, relative to `cwd` (default: every source file of the project). */
  readonly include?: readonly string[];
  /** Globs of files not to check, relative to `cwd` (generated files are never checked). */
  readonly exclude?: readonly string[];
}

export interface CheckExtensionsResult {
  /** Classes found that extend a generated base class. */
  readonly classes: number;
  /** Source files checked (after include and exclude). */
  readonly files: number;
  /** Out-of-range literals a marker comment declared deliberate. */
  readonly allowed: number;
  readonly findings: readonly ExtensionFinding[];
}

/** One generated base class, with the model and member table read from its generated file. */
const withArticle = (w: string): string => `${/^[aeiou]/.test(w) ? 'an' : 'a'} ${w}`;

const ROLE_WORDS: Record<Role, string> = { property: 'value', onWrite: 'write hook', onRead: 'read hook', execute: 'execute handler' };

interface Site { file: string; line: number; col: number }

class Checker {
  readonly findings: ExtensionFinding[] = [];
  readonly bases = new Map<ClassDeclaration, GeneratedBase>();
  allowed = 0;
  constructor(readonly project: Project, readonly cwd: string, readonly previous: PreviousNames | undefined) {}

  site(node: Node): Site {
    const sf = node.getSourceFile();
    const { line, column } = sf.getLineAndColumnAtPos(node.getStart());
    return { file: relative(this.cwd, sf.getFilePath()) || sf.getFilePath(), line, col: column };
  }

  isGenerated(sf: SourceFile): boolean {
    return isGeneratedFile(sf);
  }

  collectBases(): void {
    for (const sf of this.project.getSourceFiles()) {
      if (!this.isGenerated(sf)) continue;
      for (const c of sf.getClasses()) {
        const b = readGeneratedBase(c);
        if (b) this.bases.set(c, b);
      }
    }
  }

  /** The generated base a class derives from, through any user classes in between. */
  generatedBaseOf(cls: ClassDeclaration): GeneratedBase | undefined {
    const seen = new Set<ClassDeclaration>();
    for (let c = cls.getBaseClass(); c && !seen.has(c); c = c.getBaseClass()) {
      seen.add(c);
      const b = this.bases.get(c);
      if (b) return b;
    }
    return undefined;
  }

  /** The user classes from `cls` up to (not including) the generated base. */
  userChain(cls: ClassDeclaration, base: GeneratedBase): ClassDeclaration[] {
    const chain: ClassDeclaration[] = [];
    for (let c: ClassDeclaration | undefined = cls; c && c !== base.decl && !chain.includes(c); c = c.getBaseClass()) chain.push(c);
    return chain;
  }

  add(node: Node, f: Omit<ExtensionFinding, 'file' | 'line' | 'col'>): void {
    this.findings.push({ ...this.site(node), ...f });
  }

  resourceLabel(base: GeneratedBase, id: number): string {
    const r = base.model.resources.find((x) => x.id === id);
    return r ? `resource ${id} (${r.name})` : `resource ${id}`;
  }

  checkClass(cls: ClassDeclaration, base: GeneratedBase): void {
    const className = cls.getName() ?? '(anonymous class)';
    const baseType = base.decl.getType();
    const common = { className, baseClass: base.name, objectId: base.model.id };
    const members: Array<{ name: string; node: Node; method?: MethodDeclaration; hasOverride: boolean }> = [];
    for (const m of cls.getMembers()) {
      if (Node.isConstructorDeclaration(m) || Node.isClassStaticBlockDeclaration(m)) continue;
      if ((Node.isMethodDeclaration(m) || Node.isPropertyDeclaration(m) || Node.isGetAccessorDeclaration(m) || Node.isSetAccessorDeclaration(m)) && !m.isStatic()) {
        const nameNode = m.getNameNode();
        members.push({ name: m.getName(), node: nameNode, ...(Node.isMethodDeclaration(m) ? { method: m } : {}), hasOverride: m.hasModifier(SyntaxKind.OverrideKeyword) });
      }
    }
    for (const m of members) {
      const onBase = baseType.getProperty(m.name);
      const info = base.byMember.get(m.name);
      if (onBase) {
        if (info && m.method && (info.role === 'onWrite' || info.role === 'onRead' || info.role === 'execute')) this.checkSignature(m.method, m.name, base, info.resourceId, common);
        continue;
      }
      const executeLike = m.method?.getParameters()[0]?.getTypeNode()?.getText() === 'ExecuteArguments';
      const hookLike = /^on(Write|Read)[A-Z0-9_]/.test(m.name);
      if (!hookLike && !m.hasOverride && !executeLike) continue;
      this.reportRemoved(m.node, m.name, roleOfName(m.name, executeLike || (m.method !== undefined && !hookLike)), base, common);
    }
    if (!cls.isAbstract()) {
      const chain = this.userChain(cls, base);
      for (const am of base.decl.getMethods().filter((x) => x.isAbstract())) {
        const name = am.getName();
        if (chain.some((c) => c.getMember(name) !== undefined)) continue;
        const info = base.byMember.get(name);
        const sig = `${name}(${am.getParameters().map((p) => p.getText()).join(', ')}): ${am.getReturnTypeNode()?.getText() ?? 'void'}`;
        this.add(cls.getNameNode() ?? cls, {
          ...common, kind: 'abstract-handler', member: name, ...(info ? { resourceId: info.resourceId } : {}),
          message: `${className} does not implement ${name}(), the mandatory execute handler of ${info ? this.resourceLabel(base, info.resourceId) : 'the base class'}`,
          fix: `implement ${sig} in ${className}`,
        });
      }
    }
  }

  reportRemoved(node: Node, name: string, role: Role, base: GeneratedBase, common: { className: string; baseClass: string; objectId: number }): void {
    const prev = this.previous?.get(base.model.id)?.get(name);
    const what = role === 'property' ? 'member' : ROLE_WORDS[role];
    if (prev) {
      const now = base.byResource.get(prev.resourceId);
      const label = `resource ${prev.resourceId} (${prev.resourceName})`;
      if (!now) {
        this.add(node, { ...common, kind: 'member-removed', member: name, resourceId: prev.resourceId,
          message: `${name} was the ${ROLE_WORDS[prev.role]} of ${label}, which ${base.model.name} no longer has`,
          fix: `delete ${name} from ${common.className}: ${label} was removed` });
        return;
      }
      const renamed = now[prev.role];
      if (renamed !== undefined) {
        this.add(node, { ...common, kind: 'member-removed', member: name, resourceId: prev.resourceId, suggestion: renamed,
          message: `${name} is now called ${renamed} (${this.resourceLabel(base, prev.resourceId)} was renamed)`,
          fix: `rename ${name} to ${renamed}` });
        return;
      }
      const r = base.model.resources.find((x) => x.id === prev.resourceId);
      const why = prev.role === 'onWrite' ? 'is no longer writable' : prev.role === 'onRead' ? 'is no longer readable' : prev.role === 'execute' ? 'is no longer executable' : 'is now executable';
      this.add(node, { ...common, kind: 'member-removed', member: name, resourceId: prev.resourceId,
        message: `${name} was the ${ROLE_WORDS[prev.role]} of ${label}, which ${why} (operations ${r?.operations || 'none'})`,
        fix: `delete ${name} from ${common.className}${now.property && prev.role === 'onWrite' ? `; the app can still set ${now.property}` : ''}` });
      return;
    }
    // onWriteCurrentTime with a currentTime still there: the resource stays, only the operation went.
    const hooked = /^on(?:Write|Read)(.+)$/.exec(name)?.[1];
    const still = hooked ? base.byMember.get(hooked.charAt(0).toLowerCase() + hooked.slice(1)) : undefined;
    if (hooked && still && still.role === 'property' && (role === 'onWrite' || role === 'onRead')) {
      const r = base.model.resources.find((x) => x.id === still.resourceId);
      this.add(node, { ...common, kind: 'member-removed', member: name, resourceId: still.resourceId,
        message: `${name} is not ${withArticle(what)} of ${base.name} any more: ${this.resourceLabel(base, still.resourceId)} is no longer ${role === 'onWrite' ? 'writable' : 'readable'} (operations ${r?.operations || 'none'})`,
        fix: `delete ${name} from ${common.className}` });
      return;
    }
    const guess = closest(name, role, base);
    this.add(node, { ...common, kind: 'member-removed', member: name, ...(guess ? { suggestion: guess, resourceId: base.byMember.get(guess)!.resourceId } : {}),
      message: `${name} is not ${withArticle(what)} of ${base.name} any more`,
      fix: guess ? `rename ${name} to ${guess} if it is the same resource (${this.resourceLabel(base, base.byMember.get(guess)!.resourceId)}), otherwise delete it` : `delete ${name}, or find its resource with lwm2m-gen diff (check with --previous OLD for the exact rename)` });
  }

  checkSignature(method: MethodDeclaration, name: string, base: GeneratedBase, resourceId: number, common: { className: string; baseClass: string; objectId: number }): void {
    // Optional hooks (`onWriteX?(…);`) have no body, and ts-morph's getMethod() skips bodiless methods as overloads.
    const baseMethod = base.decl.getDescendantsOfKind(SyntaxKind.MethodDeclaration).find((m) => m.getParent() === base.decl && m.getName() === name);
    if (!baseMethod) return;
    const checker = this.project.getTypeChecker().compilerObject;
    const problems: string[] = [];
    const baseParams = baseMethod.getParameters();
    const userParams = method.getParameters();
    userParams.forEach((p, i) => {
      const bp = baseParams[i];
      if (!bp) {
        if (!p.isOptional() && !p.hasInitializer()) problems.push(`parameter ${p.getName()} is not passed by the runtime`);
        return;
      }
      // The runtime passes the base's parameter types: each must fit what the user's parameter accepts.
      const ut = p.getType();
      const bt = bp.getType();
      if (!checker.isTypeAssignableTo(bt.compilerType, ut.compilerType)) problems.push(`parameter ${p.getName()} is ${typeText(ut, method)}, the runtime passes ${typeText(bt, baseMethod)}`);
    });
    const ur = method.getReturnType();
    const br = baseMethod.getReturnType();
    if (!checker.isTypeAssignableTo(ur.compilerType, br.compilerType)) problems.push(`it returns ${typeText(ur, method)}, the base expects ${typeText(br, baseMethod)}`);
    if (problems.length === 0) return;
    const modifiers = method.getModifiers().map((m) => m.getText()).filter((m) => m !== 'async');
    const expected = `${[...modifiers, ''].join(' ')}${name}(${baseParams.map((p) => p.getText()).join(', ')}): ${baseMethod.getReturnTypeNode()?.getText() ?? 'void'}`;
    this.add(method.getNameNode(), { ...common, kind: 'hook-signature', member: name, resourceId,
      message: `${name} no longer matches ${base.name} (${this.resourceLabel(base, resourceId)} changed): ${problems.join('; ')}`,
      fix: `change it to ${expected}` });
  }

  /** Literal values assigned to resource members, in assignments and constructor value objects, checked against the model. */
  checkValues(sf: SourceFile): void {
    for (const be of sf.getDescendantsOfKind(SyntaxKind.BinaryExpression)) {
      if (be.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) continue;
      const left = be.getLeft();
      if (!Node.isPropertyAccessExpression(left)) continue;
      const target = this.classOfExpression(left.getExpression());
      if (!target) continue;
      this.checkValue(left.getNameNode(), left.getName(), be.getRight(), target, 'set');
    }
    for (const ne of sf.getDescendantsOfKind(SyntaxKind.NewExpression)) {
      const cls = this.classOfExpression(ne.getExpression(), true);
      if (!cls) continue;
      // A user constructor decides what its arguments mean; only the generated constructor's (instanceId, values) is known.
      if (this.userChain(cls.cls, cls.base).some((c) => c.getConstructors().length > 0)) continue;
      const values = ne.getArguments()[1];
      if (values && Node.isObjectLiteralExpression(values)) this.checkValuesObject(values, cls);
    }
    for (const call of sf.getDescendantsOfKind(SyntaxKind.CallExpression)) {
      if (call.getExpression().getKind() !== SyntaxKind.SuperKeyword) continue;
      const cls = call.getFirstAncestorByKind(SyntaxKind.ClassDeclaration);
      if (!cls) continue;
      const parent = cls.getBaseClass();
      const base = parent ? this.bases.get(parent) : undefined;
      if (!base) continue;
      const values = call.getArguments()[1];
      if (values && Node.isObjectLiteralExpression(values)) this.checkValuesObject(values, { cls, base });
    }
  }

  classOfExpression(expr: Expression, constructorRef = false): { cls: ClassDeclaration; base: GeneratedBase } | undefined {
    const type = expr.getType();
    const symbol = constructorRef ? type.getSymbol() : (type.getSymbol() ?? type.getTargetType()?.getSymbol());
    for (const d of symbol?.getDeclarations() ?? []) {
      if (!Node.isClassDeclaration(d)) continue;
      const own = this.bases.get(d);
      // A value typed as the generated base itself (`(d: DeviceBase) => { d.batteryLevel = 150 }`) is checked too.
      if (own) return constructorRef ? undefined : { cls: d, base: own };
      const base = this.generatedBaseOf(d);
      if (base) return { cls: d, base };
    }
    return undefined;
  }

  checkValuesObject(obj: ObjectLiteralExpression, target: { cls: ClassDeclaration; base: GeneratedBase }): void {
    for (const p of obj.getProperties()) {
      if (!Node.isPropertyAssignment(p)) continue;
      this.checkValue(p.getNameNode(), propertyName(p.getNameNode()), p.getInitializer(), target, 'value');
    }
  }

  checkValue(at: Node, member: string, valueNode: Node | undefined, target: { cls: ClassDeclaration; base: GeneratedBase }, how: 'set' | 'value'): void {
    const { cls, base } = target;
    const common = { className: cls.getName() ?? '(anonymous class)', baseClass: base.name, objectId: base.model.id, member };
    const info = base.byMember.get(member);
    if (!info || info.role !== 'property') {
      // Only names that were resources are reported: the user class may have fields of its own.
      if (cls.getType().getProperty(member) || info) return;
      const prev = this.previous?.get(base.model.id)?.get(member);
      const guess = prev ? base.byResource.get(prev.resourceId)?.property : closest(member, 'property', base);
      if (!prev && !guess) return;
      const label = prev ? `resource ${prev.resourceId} (${prev.resourceName})` : undefined;
      this.add(at, { ...common, kind: 'unknown-resource', ...(prev ? { resourceId: prev.resourceId } : {}), ...(guess ? { suggestion: guess } : {}),
        message: `${member} is not a resource of ${base.name} any more${label ? ` (it was ${label})` : ''}`,
        fix: guess ? `use ${guess} instead of ${member}` : `remove ${member}: ${label} was removed` });
      return;
    }
    if (!valueNode) return;
    const value = literalValue(valueNode);
    if (value === undefined) return;
    const r = base.model.resources.find((x) => x.id === info.resourceId);
    if (!r) return;
    const problem = rangeProblem(r, value);
    if (!problem) return;
    if (hasAllowMarker(valueNode)) {
      this.allowed++;
      return;
    }
    this.add(valueNode, { ...common, kind: 'value-out-of-range', resourceId: r.id,
      message: `${how === 'set' ? `${member} is set to` : `${member} is given`} ${valueNode.getText()}, which ${r.name} (/${base.model.id}/x/${r.id}) refuses: ${problem}`,
      fix: !r.range ? 'use a value of the resource\'s type'
        : r.range.kind === 'enum' ? `use one of ${r.range.text}` : `use a value within ${r.range.text}${r.units ? ` (${r.units})` : ''}` });
  }
}

function typeText(t: Type, at: Node): string {
  return t.getText(at);
}

function rangeProblem(r: ResourceModel, value: Literal): string | undefined {
  try {
    checkContent(r, value);
    return undefined;
  } catch (e) {
    if (e instanceof ValueError) return e.message;
    throw e;
  }
}

/** Loads the project behind `tsconfig` and checks every class that extends a generated base class. */
export function checkExtensions(options: CheckExtensionsOptions): CheckExtensionsResult {
  const project = new Project({ tsConfigFilePath: options.tsconfig });
  const cwd = options.cwd ?? process.cwd();
  const checker = new Checker(project, cwd, previousNames(options.previous));
  const selected = pathFilter(options.include ?? [], options.exclude ?? []);
  checker.collectBases();
  let classes = 0;
  let files = 0;
  for (const sf of project.getSourceFiles()) {
    if (checker.isGenerated(sf) || sf.isDeclarationFile() || sf.isInNodeModules()) continue;
    if (!selected(relative(cwd, sf.getFilePath()))) continue;
    files++;
    for (const cls of sf.getDescendantsOfKind(SyntaxKind.ClassDeclaration)) {
      const base = checker.generatedBaseOf(cls);
      if (!base) continue;
      classes++;
      checker.checkClass(cls, base);
    }
    checker.checkValues(sf);
  }
  const findings = checker.findings.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : a.line - b.line || a.col - b.col));
  return { classes, files, allowed: checker.allowed, findings };
}

/** `file:line:col: kind: message; fix: …` */
export function formatFinding(f: ExtensionFinding): string {
  return `${f.file}:${f.line}:${f.col}: ${f.kind}: ${f.message}. Fix: ${f.fix}.`;
}
