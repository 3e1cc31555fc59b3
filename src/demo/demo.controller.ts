import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
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

const PAGE_PATH = join(dirname(fileURLToPath(import.meta.url)), 'public', 'index.html');

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
    // The page is static; only the hub path is filled in, so HUB_PATH works without a build step.
    this.page ??= readFileSync(PAGE_PATH, 'utf8').replace('__HUB_PATH__', this.hub.options.path);
    return this.page;
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

  @Get('health')
  health() {
    return { status: 'ok', online: this.hub.online };
  }
}
