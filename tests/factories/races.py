"""The same request sent many times at once, alternating between two workers (two apps)."""

import asyncio

import httpx
from fastapi import FastAPI

from tests.conftest import client_for


async def race(
    apps: tuple[FastAPI, FastAPI], method: str, path: str, headers: dict[str, str], count: int
) -> list[httpx.Response]:
    async with client_for(apps[0]) as first, client_for(apps[1]) as second:
        return await asyncio.gather(
            *(
                (first if i % 2 else second).request(method, path, headers=headers)
                for i in range(count)
            )
        )
