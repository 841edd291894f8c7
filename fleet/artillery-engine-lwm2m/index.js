// Artillery requires engines by the name artillery-engine-<name> with require(); lwm2m-gen/fleet is ESM, so this shim imports it.
'use strict';

const engine = import('lwm2m-gen/fleet');

/** Artillery's engine interface (constructor, createScenario) over the ESM engine, which loads on first use. */
class Lwm2mEngine {
  constructor(script, events, helpers) {
    this.ready = engine.then((m) => new m.Lwm2mArtilleryEngine(script, events, helpers));
    // A configuration the engine refuses is reported once, plainly, and fails every virtual user.
    this.ready.catch((err) => {
      console.error(`lwm2m engine: ${err && err.option ? `config ${err.option}: ` : ''}${err && err.message ? err.message : err}`);
    });
  }

  createScenario(spec, events) {
    const scenario = this.ready.then((e) => e.createScenario(spec, events));
    // Handled here too: the virtual users that report the failure arrive later than Node's unhandled-rejection check.
    scenario.catch(() => undefined);
    return (context, done) => {
      scenario.then(
        (run) => run(context, done),
        (err) => {
          // Artillery counts a user as pending from 'started' to done(): both, or the run never ends.
          events.emit('started');
          events.emit('error', err && err.option ? `config ${err.option}` : 'config');
          done(err, context);
        },
      );
    };
  }
}

module.exports = Lwm2mEngine;
