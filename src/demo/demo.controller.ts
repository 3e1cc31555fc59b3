import { readFileSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  BadRequestException,
  Body,
  Controller,
  Get,
  Header,
  HttpCode,
  Inject,
  Post,
  Query,
} from '@nestjs/common';
import { HubService } from '../ws-hub/index.js';
import { LoopMonitor } from './loop-monitor.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const PUBLIC_DIR = join(HERE, 'public');
/**
 * The client library's public entry point, next to the demo: `dist/ws-hub/client/index.js`
 * after `nest build`, `src/ws-hub/client/index.ts` when the demo runs from source (tests).
 */
const CLIENT_ENTRY = join(
  HERE,
  '..',
  'ws-hub',
  'client',
  `index${extname(fileURLToPath(import.meta.url))}`,
);

const files = new Map<string, string>();
/** A file of `public/`, read once. */
function publicFile(name: string): string {
  let text = files.get(name);
  if (text === undefined) files.set(name, (text = readFileSync(join(PUBLIC_DIR, name), 'utf8')));
  return text;
}

let clientBundle: Promise<string> | undefined;
/**
 * `ws-hub/client` bundled for the browser by esbuild (a dev dependency, like the Nest CLI that
 * `npm start` builds with), once per process: the page imports the library as an app would,
 * through its public entry point, with no CDN and no extra build step.
 */
function bundleClient(): Promise<string> {
  clientBundle ??= import('esbuild')
    .then(({ build }) =>
      build({
        entryPoints: [CLIENT_ENTRY],
        bundle: true,
        format: 'esm',
        platform: 'browser',
        target: 'es2020',
        write: false,
        legalComments: 'none',
        banner: { js: '// ws-hub/client, bundled by esbuild for the demo page' },
      }),
    )
    .then((result) => result.outputFiles[0].text);
  clientBundle.catch(() => (clientBundle = undefined));
  return clientBundle;
}

function stringList(value: unknown, field: string): string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string')) {
    throw new BadRequestException(`"${field}" must be an array of strings`);
  }
  return value as string[];
}

/**
 * The demo's HTTP side. It injects `HubService` like any controller of an app would: the
 * living example of broadcasting from anywhere.
 */
@Controller()
export class DemoController {
  private page: string | undefined;

  constructor(
    @Inject(HubService) private readonly hub: HubService,
    @Inject(LoopMonitor) private readonly loop: LoopMonitor,
  ) {}

  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Cache-Control', 'no-store')
  index(): string {
    // The page is static; the hub path and the auth settings are filled in, so HUB_PATH works
    // without a build step and the page can explain what a refusal looks like.
    const { path, authenticate, authFailure } = this.hub.options;
    this.page ??= publicFile('index.html')
      .replaceAll('__HUB_PATH__', path)
      .replaceAll('__HUB_AUTH__', authenticate ? 'token' : 'none')
      .replaceAll('__HUB_AUTH_FAILURE__', authFailure);
    return this.page;
  }

  @Get('app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  script(): string {
    return publicFile('app.js');
  }

  @Get('app.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  styles(): string {
    return publicFile('app.css');
  }

  @Get('favicon.svg')
  @Header('Content-Type', 'image/svg+xml')
  @Header('Cache-Control', 'max-age=3600')
  favicon(): string {
    return publicFile('favicon.svg');
  }

  @Get('hub-client.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('Cache-Control', 'no-cache')
  hubClient(): Promise<string> {
    return bundleClient();
  }

  /** `{"event"?: string, "data": any, "rooms"?: string[], "except"?: string[]}` → `{"delivered": n}` */
  @Post('broadcast')
  @HttpCode(200)
  broadcast(@Body() body: unknown): { delivered: number } {
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new BadRequestException('body must be a JSON object');
    }
    const { event = 'broadcast', data, rooms, except } = body as Record<string, unknown>;
    if (typeof event !== 'string' || event.length === 0) {
      throw new BadRequestException('"event" must be a non-empty string');
    }
    const delivered = this.hub.broadcast(event, data, {
      rooms: stringList(rooms, 'rooms'),
      except: stringList(except, 'except'),
    });
    return { delivered };
  }

  @Get('stats')
  async stats(@Query('reset') reset?: string) {
    const [clusterOnline, instances] = await Promise.all([
      this.hub.clusterOnline(),
      this.hub.instances(),
    ]);
    const memory = process.memoryUsage();
    const stats = {
      ...this.hub.stats(),
      cluster: { online: clusterOnline, instances: instances.length },
      instanceId: this.hub.instanceId,
      rssBytes: memory.rss,
      heapUsedBytes: memory.heapUsed,
      eventLoopDelayP50Ms: this.loop.p50Ms(),
      eventLoopDelayP99Ms: this.loop.p99Ms(),
      eventLoopDelayMaxMs: this.loop.maxMs(),
    };
    if (reset === '1' || reset === 'true') this.loop.reset();
    return stats;
  }

  @Post('stats/reset')
  @HttpCode(204)
  resetStats(): void {
    this.loop.reset();
  }
}
