// Write-Attributes parsing (names, numbers, the rules the spec sets) and the attribute store's inheritance.
import { BadRequestError } from '../../../runtime/errors.js';
import type { Lwm2mPath, ResourceModel } from '../../../runtime/model.js';
import { AttributeStore, parseWriteAttributes } from '../../../runtime/notify/attributes.js';

const res = (over: Partial<ResourceModel> = {}): ResourceModel => ({
  id: 7, name: 'Voltage', operations: 'R', type: 'Float', multiple: false, mandatory: false, ...over,
});
const R: Lwm2mPath = { objectId: 3, instanceId: 0, resourceId: 7 };
const I: Lwm2mPath = { objectId: 3, instanceId: 0 };
const O: Lwm2mPath = { objectId: 3 };

describe('parseWriteAttributes', () => {
  it('parses periods and thresholds, and names without a value as removals', () => {
    const u = parseWriteAttributes(['pmin=10', 'pmax=60', 'gt=20.5', 'lt=-3', 'st=1', 'epmin=1', 'epmax=5'], R, res());
    expect(u.set).toEqual({ pmin: 10, pmax: 60, gt: 20.5, lt: -3, st: 1, epmin: 1, epmax: 5 });
    expect(u.clear).toEqual([]);
    const c = parseWriteAttributes(['pmin', 'gt'], R, res());
    expect(c).toEqual({ set: {}, clear: ['pmin', 'gt'] });
  });

  it.each([
    [['foo=1'], /unknown attribute "foo"/],
    [['pmin=1', 'pmin=2'], /more than once/],
    [['pmin=1', 'pmin'], /more than once/],
    [['pmin=-1'], /whole number/],
    [['pmin=1.5'], /whole number/],
    [['pmin=abc'], /whole number/],
    [['pmin='], /empty value/],
    [['st=-1'], /non-negative/],
    [['gt=1e3'], /decimal/],
    [['gt=NaN'], /decimal/],
    [['pmin=10', 'pmax=5'], /pmax \(5\) is less than pmin \(10\)/],
    [['epmin=5', 'epmax=5'], /epmax \(5\) is not greater than epmin/],
    [['lt=10', 'gt=10'], /lt \(10\) is not less than gt/],
    [['lt=10', 'gt=20', 'st=5'], /lt \+ 2\*st/],
    [[], /without any attribute/],
  ])('refuses %j', (query, message) => {
    let err: unknown;
    try {
      parseWriteAttributes(query, R, res());
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).code).toBe('4.00');
    expect((err as Error).message).toMatch(message);
  });

  it('accepts pmax equal to pmin and lt + 2*st just below gt', () => {
    expect(parseWriteAttributes(['pmin=10', 'pmax=10'], R, res()).set).toEqual({ pmin: 10, pmax: 10 });
    expect(parseWriteAttributes(['lt=10', 'gt=20.1', 'st=5'], R, res()).set).toEqual({ lt: 10, gt: 20.1, st: 5 });
  });

  it('refuses gt/lt/st above resource level and on non-numeric or unreadable resources', () => {
    expect(() => parseWriteAttributes(['gt=1'], I)).toThrow(/resources and resource instances only/);
    expect(() => parseWriteAttributes(['st=1'], O)).toThrow(BadRequestError);
    expect(() => parseWriteAttributes(['lt'], I)).toThrow(BadRequestError);
    expect(() => parseWriteAttributes(['gt=1'], R, res({ type: 'String' }))).toThrow(/numeric resource/);
    expect(() => parseWriteAttributes(['gt=1'], R, res({ type: 'Boolean' }))).toThrow(/numeric resource/);
    expect(() => parseWriteAttributes(['gt=1'], R, res({ operations: 'W', type: 'Integer' }))).toThrow(/readable/);
    // Periods are fine at every level.
    expect(parseWriteAttributes(['pmin=1', 'epmax=9'], O).set).toEqual({ pmin: 1, epmax: 9 });
    expect(parseWriteAttributes(['gt=1'], { ...R, resourceInstanceId: 2 }, res({ multiple: true, type: 'Integer' })).set).toEqual({ gt: 1 });
  });

  it('names the path in the error', () => {
    expect(() => parseWriteAttributes(['x=1'], R, res())).toThrow('/3/0/7: unknown attribute "x"');
  });
});

describe('parseWriteAttributes: the LwM2M 1.2 attributes edge, con, hqmax', () => {
  const bool = res({ type: 'Boolean' });
  it('parses them where they apply: edge on a Boolean resource, con and hqmax at any level', () => {
    expect(parseWriteAttributes(['edge=1', 'con=0', 'hqmax=10'], R, bool).set).toEqual({ edge: 1, con: 0, hqmax: 10 });
    expect(parseWriteAttributes(['con=1', 'hqmax=0'], O).set).toEqual({ con: 1, hqmax: 0 });
    expect(parseWriteAttributes(['edge', 'con', 'hqmax'], R, bool).clear).toEqual(['edge', 'con', 'hqmax']);
  });

  it.each([
    [['edge=1'], R, res(), /readable Boolean resource/],
    [['edge=0'], I, undefined, /not above resource level/],
    [['edge=2'], R, res({ type: 'Boolean' }), /neither 0 nor 1/],
    [['edge=1'], R, res({ type: 'Boolean', operations: 'W' }), /readable Boolean/],
    [['con=yes'], R, res(), /neither 0 nor 1/],
    [['hqmax=-1'], I, undefined, /non-negative whole number/],
    [['hqmax=1.5'], I, undefined, /non-negative whole number/],
  ] as const)('refuses %j at %j (4.00)', (query, path, resource, message) => {
    let err: unknown;
    try {
      parseWriteAttributes(query, path, resource);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).code).toBe('4.00');
    expect((err as Error).message).toMatch(message);
  });

  it('lists them in Discover after the others', () => {
    const store = new AttributeStore();
    store.apply(R, parseWriteAttributes(['hqmax=5', 'edge=1', 'pmin=2', 'con=1'], R, res({ type: 'Boolean' })));
    expect(store.linkAttributes(R)).toEqual([['pmin', 2], ['edge', 1], ['con', 1], ['hqmax', 5]]);
  });
});

describe('AttributeStore', () => {
  it('merges successive writes at one level and removes attributes named without a value', () => {
    const s = new AttributeStore();
    s.apply(R, parseWriteAttributes(['lt=30'], R, res()));
    s.apply(R, parseWriteAttributes(['gt=70'], R, res()));
    expect(s.get(R)).toEqual({ lt: 30, gt: 70 });
    s.apply(R, parseWriteAttributes(['lt'], R, res()));
    expect(s.get(R)).toEqual({ gt: 70 });
    expect(s.linkAttributes(R)).toEqual([['gt', 70]]);
  });

  it('checks rules against the stored attributes and changes nothing when refused', () => {
    const s = new AttributeStore();
    s.apply(R, parseWriteAttributes(['gt=10', 'pmin=20'], R, res()));
    expect(() => s.apply(R, parseWriteAttributes(['lt=10'], R, res()))).toThrow(/lt \(10\) is not less than gt/);
    expect(() => s.apply(R, parseWriteAttributes(['pmax=5', 'st=1'], R, res()))).toThrow(/pmax \(5\) is less than pmin/);
    expect(s.get(R)).toEqual({ gt: 10, pmin: 20 });
  });

  it('inherits object → instance → resource → resource instance, then defaults', () => {
    const s = new AttributeStore();
    s.apply(O, parseWriteAttributes(['pmin=5', 'pmax=100'], O));
    s.apply(I, parseWriteAttributes(['pmin=7'], I));
    s.apply(R, parseWriteAttributes(['gt=3'], R, res()));
    const RI = { ...R, resourceInstanceId: 1 };
    s.apply(RI, parseWriteAttributes(['pmax=50'], RI, res()));
    const d = { pmin: 300, pmax: 21600, epmax: 9 };
    expect(s.effective(O, d)).toEqual({ pmin: 5, pmax: 100, epmax: 9 });
    expect(s.effective(I, d)).toEqual({ pmin: 7, pmax: 100, epmax: 9 });
    expect(s.effective(R, d)).toEqual({ pmin: 7, pmax: 100, gt: 3, epmax: 9 });
    expect(s.effective(RI, d)).toEqual({ pmin: 7, pmax: 50, gt: 3, epmax: 9 });
    expect(s.effective({ objectId: 3, instanceId: 1, resourceId: 7 }, d)).toEqual({ pmin: 5, pmax: 100, epmax: 9 });
    expect(s.effective({ objectId: 4 }, d)).toEqual(d);
    // Own attributes stay per level; Discover shows only those.
    expect(s.linkAttributes(I)).toEqual([['pmin', 7]]);
    expect(s.linkAttributes({ objectId: 9 })).toEqual([]);
  });

  it('forgets a deleted instance and what is under it, and nothing else', () => {
    const s = new AttributeStore();
    s.apply(O, parseWriteAttributes(['pmin=5'], O));
    s.apply(I, parseWriteAttributes(['pmin=7'], I));
    s.apply(R, parseWriteAttributes(['pmax=9'], R, res()));
    s.clearInstance(3, 0);
    expect(s.get(I)).toEqual({});
    expect(s.get(R)).toEqual({});
    expect(s.effective(R)).toEqual({ pmin: 5 });
    s.clearAll();
    expect(s.effective(R)).toEqual({});
  });

  it('returns copies, so callers cannot change the store by accident', () => {
    const s = new AttributeStore();
    s.apply(R, parseWriteAttributes(['pmin=1'], R, res()));
    s.get(R).pmin = 99;
    s.effective(R).pmin = 99;
    expect(s.get(R)).toEqual({ pmin: 1 });
  });
});
