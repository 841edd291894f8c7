// attachResourceBehaviour: standard behaviour by resource id beside the app's own hooks (read, write, execute, presence, missingMandatory).
import { defineObject, type ResourceModel } from '../../../runtime/model.js';
import { ObjectInstance, attachResourceBehaviour, type MemberTable } from '../../../runtime/object/instance.js';
import { ValueError } from '../../../runtime/errors.js';

const r = (over: Partial<ResourceModel> & Pick<ResourceModel, 'id' | 'name'>): ResourceModel => ({
  operations: 'RW', type: 'Integer', multiple: false, mandatory: false, ...over,
});
const Def = defineObject({
  id: 30000, name: 'Thing', urn: 'urn:oma:lwm2m:x:30000', objectVersion: '1.0', lwm2mVersion: '1.1', multiple: true, mandatory: false,
  resources: [
    r({ id: 0, name: 'Level', mandatory: true, operations: 'R' }),
    r({ id: 1, name: 'Target' }),
    r({ id: 2, name: 'Go', type: 'none', operations: 'E' }),
    r({ id: 3, name: 'Stop', type: 'none', operations: 'E', mandatory: true }),
  ],
});
const MEMBERS: MemberTable = { 0: { property: 'level', onRead: 'onReadLevel' }, 1: { property: 'target', onWrite: 'onWriteTarget' }, 2: { execute: 'go' } };

class Thing extends ObjectInstance {
  readonly log: string[] = [];
  appRead: number | undefined;
  constructor() {
    super(Def, 0, MEMBERS);
  }
  onReadLevel?(): number;
  onWriteTarget(next: number): void {
    this.log.push(`app write ${next}`);
  }
  go(): void {
    this.log.push('app go');
  }
}

it('a read behaviour makes a resource present and computes it; the app\'s read hook wins over it', () => {
  const t = new Thing();
  expect(t.missingMandatory().map((m) => m.id)).toEqual([0]);
  attachResourceBehaviour(t, 0, { read: () => 42 });
  expect(t.missingMandatory()).toEqual([]);
  expect(t.readResource(0)).toBe(42);
  t.onReadLevel = () => 7;
  expect(t.readResource(0)).toBe(7);
});

it('a read behaviour\'s value is checked against the model', () => {
  const t = new Thing();
  attachResourceBehaviour(t, 0, { read: () => 'not a number' });
  expect(() => t.readResource(0)).toThrow(ValueError);
});

it('a write behaviour checks before the app\'s hook, and a refusal stores nothing', async () => {
  const t = new Thing();
  attachResourceBehaviour(t, 1, { write: (next) => { t.log.push(`std write ${String(next)}`); if (next === 13) throw new ValueError('unlucky'); } });
  await t.writeResources(new Map([[1, 5]]), 'replace');
  await expect(t.writeResources(new Map([[1, 13]]), 'replace')).rejects.toThrow('unlucky');
  expect(t.log).toEqual(['std write 5', 'app write 5', 'std write 13']);
  expect(t.readResource(1)).toBe(5);
});

it('an execute behaviour gets the app\'s handler and decides; without either the resource is absent', async () => {
  const t = new Thing();
  expect(t.hasResource(3)).toBe(false);
  await expect(t.execute(3)).rejects.toMatchObject({ code: '4.04' });
  attachResourceBehaviour(t, 3, { execute: (_args, app) => { t.log.push(`std stop, app ${app ? 'yes' : 'no'}`); } });
  attachResourceBehaviour(t, 2, { execute: async (args, app) => { t.log.push('std go'); await app?.(args); } });
  expect(t.resourceIds()).toEqual([2, 3]);
  await t.execute(3);
  await t.execute(2);
  expect(t.log).toEqual(['std stop, app no', 'std go', 'app go']);
});

it('refuses a resource the object does not have', () => {
  expect(() => attachResourceBehaviour(new Thing(), 9, { read: () => 1 })).toThrow(/no such resource/);
});
