// Tests of the notification defaults: the spec's by default, the 2016 preset on request, the Server object above both.
import {
  DEFAULT_NOTIFY_POLICY, NOTIFY_PRESETS, NOTIFY_PRESET_2016, SPEC_NOTIFY_POLICY, attributeSource, notifyDefaults,
} from '../../../runtime/notify/policy.js';
import { AttributeStore, parseWriteAttributes } from '../../../runtime/notify/attributes.js';

describe('notify policy', () => {
  it("defaults to the spec's pmin 0 and no pmax", () => {
    expect(DEFAULT_NOTIFY_POLICY).toBe(SPEC_NOTIFY_POLICY);
    expect(notifyDefaults(3)).toEqual({ pmin: 0 });
    expect(notifyDefaults(5)).toEqual({ pmin: 0 });
  });

  it('takes the Server object\'s Default Minimum and Maximum Period over the policy', () => {
    expect(notifyDefaults(3, DEFAULT_NOTIFY_POLICY, { pmin: 2, pmax: 60 })).toEqual({ pmin: 2, pmax: 60 });
    expect(notifyDefaults(5, NOTIFY_PRESET_2016, { pmin: 1 })).toEqual({ pmin: 1, pmax: 21600 });
  });

  it('offers the 2016 library profile as a named preset', () => {
    expect(NOTIFY_PRESETS['2016']).toBe(NOTIFY_PRESET_2016);
    expect(NOTIFY_PRESETS.spec).toBe(SPEC_NOTIFY_POLICY);
    expect(notifyDefaults(3, NOTIFY_PRESET_2016)).toEqual({ pmin: 300, pmax: 21600 });
    expect(notifyDefaults(5, NOTIFY_PRESET_2016)).toEqual({ pmin: 30, pmax: 21600 });
  });

  it('lets written attributes override the defaults', () => {
    const store = new AttributeStore();
    store.apply({ objectId: 3 }, parseWriteAttributes(['pmax=9'], { objectId: 3 }));
    const source = attributeSource(store, () => undefined);
    expect(source({ path: { objectId: 3, instanceId: 0, resourceId: 9 } })).toEqual({ pmin: 0, pmax: 9 });
  });
});
