import { startHub, type HubApp } from '../helpers/app.js';
import { conformanceHubOptions, describeHubAdapterConformance } from './hub-adapter.conformance.js';

let apps: HubApp[] = [];

describeHubAdapterConformance('in-memory (1 instance)', {
  instances: 1,
  start: async () => (apps = [await startHub(conformanceHubOptions)]),
  stop: async () => {
    await Promise.all(apps.map((a) => a.close()));
    apps = [];
  },
});
